"""Simple-repository project pages (pure: bytes or text in, a `ProjectPage` out).

PEP 691 JSON (`parse_json_page`), PEP 503 HTML (`parse_html_page`, also any HTML page of links
as find-links uses), with PEP 658/714 metadata and PEP 592 yank markers; `merge_pages` combines
the pages of several locations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)

from ..errors import FetchError
from .graph import WheelLink
from .http import redact_url

__all__ = [
    "ACCEPT",
    "IndexFile",
    "ProjectPage",
    "merge_pages",
    "parse_html_page",
    "parse_json_page",
    "parse_response",
    "project_of",
]

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
# PEP 691 content negotiation: JSON first, the versioned HTML next, legacy HTML last.
ACCEPT = f"{JSON_CONTENT_TYPE}, {HTML_CONTENT_TYPE};q=0.2, text/html;q=0.01"
SUPPORTED_API_MAJOR = 1


@dataclass(frozen=True)
class IndexFile:
    """One file on a project page.

    ``metadata_sha256`` follows PEP 658/714: a hex digest when the index advertises the
    ``.metadata`` sidecar with a sha256, ``True`` when it advertises it without one, ``None``
    when it does not advertise it.
    """

    filename: str
    url: str
    sha256: str | None = None
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    metadata_sha256: str | Literal[True] | None = None
    upload_time: str | None = None
    size: int | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"

    def link(self) -> WheelLink:
        return WheelLink(filename=self.filename, url=self.url, sha256=self.sha256, size=self.size)


@dataclass(frozen=True)
class ProjectPage:
    files: tuple[IndexFile, ...] = ()
    name: str | None = None


def project_of(filename: str) -> NormalizedName | None:
    """The canonical project name in a wheel or sdist filename; None for anything else."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _malformed(page_url: str, why: str) -> FetchError:
    return FetchError(f"malformed index page {redact_url(page_url)}: {why}")


def _check_api_version(version: object, page_url: str) -> None:
    if version is None:
        return
    major = str(version).split(".", 1)[0]
    if not major.isdigit() or int(major) > SUPPORTED_API_MAJOR:
        raise _malformed(page_url, f"simple API version {version!r} is not supported (need 1.x)")


def _metadata_hash(value: object) -> str | Literal[True] | None:
    """PEP 714 ``core-metadata`` value (JSON form): bool or a dict of hashes."""
    if isinstance(value, Mapping):
        digest = value.get("sha256")
        return digest.lower() if isinstance(digest, str) and digest else True
    return True if value is True else None


def _split_url(raw: str, page_url: str) -> tuple[str, str | None]:
    """Absolute URL without fragment, and the sha256 from a ``#sha256=`` fragment."""
    url, fragment = urldefrag(urljoin(page_url, raw.strip()))
    name, _, value = fragment.partition("=")
    return url, (value.lower() if name == "sha256" and value else None)


def _filename_from_url(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def parse_json_page(data: bytes | str | Mapping[str, Any], page_url: str) -> ProjectPage:
    """A PEP 691 ``application/vnd.pypi.simple.v1+json`` project page."""
    if isinstance(data, (bytes, str)):
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise _malformed(page_url, f"invalid JSON ({exc})") from exc
    else:
        document = data
    if not isinstance(document, Mapping):
        raise _malformed(page_url, "expected a JSON object")
    meta = document.get("meta")
    _check_api_version(meta.get("api-version") if isinstance(meta, Mapping) else None, page_url)
    entries = document.get("files", [])
    if not isinstance(entries, list):
        raise _malformed(page_url, "'files' is not a list")
    files = tuple(_json_file(entry, page_url) for entry in entries)
    name = document.get("name")
    return ProjectPage(files=files, name=name if isinstance(name, str) else None)


def _json_file(entry: object, page_url: str) -> IndexFile:
    """One item of a JSON page's ``files`` list."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
        raise _malformed(page_url, f"file entry without a URL: {entry!r}")
    url, fragment_hash = _split_url(entry["url"], page_url)
    hashes = entry.get("hashes")
    sha256 = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    yanked = entry.get("yanked", False)
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata"))
    size = entry.get("size")
    requires_python = entry.get("requires-python")
    upload_time = entry.get("upload-time")
    filename = entry.get("filename")
    return IndexFile(
        filename=filename if isinstance(filename, str) else _filename_from_url(url),
        url=url,
        sha256=sha256.lower() if isinstance(sha256, str) and sha256 else fragment_hash,
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        metadata_sha256=_metadata_hash(metadata),
        upload_time=upload_time if isinstance(upload_time, str) else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.api_version: str | None = None
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "base" and self.base is None and attributes.get("href"):
            self.base = attributes["href"]
        elif tag == "meta" and attributes.get("name") == "pypi:repository-version":
            self.api_version = attributes.get("content")
        elif tag == "a" and attributes.get("href"):
            self._finish()
            self._open, self._text = attributes, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._finish()

    def _finish(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
        self._open = None

    def close(self) -> None:
        super().close()
        self._finish()


def _html_metadata_hash(value: str | None) -> str | Literal[True] | None:
    """PEP 714 ``data-core-metadata`` value (HTML form): ``true`` or ``<hashname>=<hex>``."""
    if value is None:
        return None
    name, sep, digest = value.strip().partition("=")
    if sep and name.lower() == "sha256" and digest:
        return digest.lower()
    return None if value.strip().lower() == "false" else True


def parse_html_page(text: str, page_url: str) -> ProjectPage:
    """A PEP 503 project page (or any HTML page of links, as find-links uses)."""
    collector = _AnchorCollector()
    collector.feed(text)
    collector.close()
    _check_api_version(collector.api_version, page_url)
    base = urljoin(page_url, collector.base) if collector.base else page_url
    files: list[IndexFile] = []
    for attributes, anchor_text in collector.anchors:
        url, sha256 = _split_url(attributes["href"] or "", base)
        filename = _filename_from_url(url) or anchor_text
        if not filename:
            continue
        yanked = "data-yanked" in attributes
        key = "data-core-metadata"  # PEP 714 name first, then the PEP 658 one
        if key not in attributes:
            key = "data-dist-info-metadata"
        metadata = _html_metadata_hash(attributes[key] or "true") if key in attributes else None
        files.append(
            IndexFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=attributes.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=(attributes.get("data-yanked") or None) if yanked else None,
                metadata_sha256=metadata,
            )
        )
    return ProjectPage(files=tuple(files))


def parse_response(body: bytes, content_type: str, page_url: str) -> ProjectPage:
    """A project page as an index served it: JSON by content type (or by its first byte when
    the type is not HTML), else HTML."""
    if content_type == JSON_CONTENT_TYPE or (
        not content_type.endswith("html") and body.lstrip()[:1] == b"{"
    ):
        return parse_json_page(body, page_url)
    return parse_html_page(body.decode("utf-8", errors="replace"), page_url)


def merge_pages(pages: Sequence[ProjectPage]) -> ProjectPage:
    """Files of several pages, first occurrence of each filename kept (configuration order)."""
    seen: dict[str, IndexFile] = {}
    for page in pages:
        for file in page.files:
            seen.setdefault(file.filename, file)
    return ProjectPage(
        files=tuple(seen.values()), name=next((p.name for p in pages if p.name), None)
    )
