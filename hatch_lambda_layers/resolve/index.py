"""Simple-repository API client: PEP 691 JSON, PEP 503 HTML, PEP 658/714 metadata.

Parsing (:func:`parse_json_page`, :func:`parse_html_page`) is pure: bytes or text in, a
:class:`ProjectPage` out. :class:`IndexClient` does the fetching: it asks every configured index
for a project's page (JSON preferred, HTML accepted), adds matching files from find-links
locations, and reads a file's core metadata from the PEP 658 ``.metadata`` sidecar when the
index advertises one, else from the wheel itself (downloaded through :mod:`.fetch`).

The resolver depends only on the :class:`PackageIndex` protocol, so tests can pass a fake.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from ..errors import FetchError, HashMismatchError
from .fetch import fetch_bytes, fetch_wheels
from .graph import WheelLink
from .http import HttpSession, local_path, redact_url
from .indexconfig import IndexSettings

__all__ = [
    "ACCEPT",
    "IndexClient",
    "IndexFile",
    "PackageIndex",
    "ProjectPage",
    "parse_html_page",
    "parse_json_page",
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
    files: list[IndexFile] = []
    for entry in entries:
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
        files.append(
            IndexFile(
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
        )
    name = document.get("name")
    return ProjectPage(files=tuple(files), name=name if isinstance(name, str) else None)


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


def _parse_response(body: bytes, content_type: str, page_url: str) -> ProjectPage:
    if content_type == JSON_CONTENT_TYPE or (
        not content_type.endswith("html") and body.lstrip()[:1] == b"{"
    ):
        return parse_json_page(body, page_url)
    return parse_html_page(body.decode("utf-8", errors="replace"), page_url)


def read_wheel_metadata(path: Path, filename: str) -> str:
    """The ``*.dist-info/METADATA`` text inside a wheel file."""
    try:
        with zipfile.ZipFile(path) as archive:
            candidates = [
                name
                for name in archive.namelist()
                if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
            ]
            project = project_of(filename)
            if len(candidates) > 1 and project is not None:
                candidates = [
                    c for c in candidates if canonicalize_name(c.split("-", 1)[0]) == project
                ] or candidates
            if not candidates:
                raise FetchError(f"{filename} has no .dist-info/METADATA; the wheel is broken")
            return archive.read(sorted(candidates)[0]).decode("utf-8", errors="replace")
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{filename} is not a valid wheel (zip) file: {exc}") from exc


class PackageIndex(Protocol):
    """What the resolver needs from an index (tests pass an in-memory fake)."""

    def project_page(self, name: str) -> ProjectPage: ...

    def metadata(self, file: IndexFile) -> str: ...

    def describe(self) -> str: ...

    def file_sha256(self, file: IndexFile) -> str: ...


def _as_url(location: str) -> str:
    """Plain local paths become ``file:`` URLs so relative links resolve with urljoin."""
    path = local_path(location)
    if path is None or location.startswith("file:"):
        return location
    return path.expanduser().resolve().as_uri() + ("/" if path.is_dir() else "")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class IndexClient:
    """Fetches project pages and metadata from the configured indexes and find-links.

    Pages from every index are merged in configuration order (``index-url`` first, then each
    extra index, then find-links); when two locations list the same filename the first wins.
    Pages and metadata are memoised for the client's lifetime.
    """

    def __init__(
        self,
        settings: IndexSettings,
        *,
        http: HttpSession | None = None,
        cache_dir: Path | None = None,
        prefetch_workers: int = 8,
    ) -> None:
        self.settings = settings
        self.http = http or HttpSession()
        self.cache_dir = cache_dir
        for url in (*settings.index_urls, *settings.find_links):
            self.http.remember_credentials(url)
        self._index_urls = tuple(_as_url(u) for u in settings.index_urls)
        self._find_links = tuple(_as_url(u) for u in settings.find_links)
        self._lock = threading.Lock()
        self._pages: dict[str, Future[ProjectPage]] = {}
        self._link_pages: dict[str, ProjectPage] = {}
        self._metadata: dict[str, str] = {}
        self._digests: dict[str, str] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._prefetch_workers = prefetch_workers

    def close(self) -> None:
        """Stop the prefetch threads (pages already fetched stay available)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe(self) -> str:
        return ", ".join(
            redact_url(u) for u in (*self.settings.index_urls, *self.settings.find_links)
        )

    # -- pages

    def _fetch_page(self, page_url: str) -> ProjectPage | None:
        fetched = self.http.get(page_url, headers={"Accept": ACCEPT})
        if fetched.status in (404, 410):
            return None
        if fetched.status != 200:
            raise FetchError(
                f"index page {redact_url(page_url)} answered HTTP {fetched.status}; check the "
                f"index URL and its credentials"
            )
        return _parse_response(fetched.body, fetched.content_type, fetched.url)

    def _find_links_files(self, location: str, project: NormalizedName) -> Iterable[IndexFile]:
        path = local_path(location)
        if path is not None and path.is_dir():
            for entry in sorted(path.iterdir()):
                if entry.is_file() and project_of(entry.name) == project:
                    yield IndexFile(
                        filename=entry.name,
                        url=entry.resolve().as_uri(),
                        sha256=_sha256_file(entry),
                        size=entry.stat().st_size,
                    )
            return
        with self._lock:
            page = self._link_pages.get(location)
        if page is None:
            page = self._fetch_page(location) or ProjectPage()
            with self._lock:
                self._link_pages[location] = page
        yield from (f for f in page.files if project_of(f.filename) == project)

    def _load_page(self, project: NormalizedName) -> ProjectPage:
        pages: list[ProjectPage] = []
        for base in self._index_urls:
            page = self._fetch_page(base.rstrip("/") + f"/{project}/")
            if page is not None:
                pages.append(page)
        for location in self._find_links:
            pages.append(ProjectPage(files=tuple(self._find_links_files(location, project))))
        return replace(merge_pages(pages), name=project)

    def prefetch(self, names: Iterable[str]) -> None:
        """Start fetching these projects' pages in the background (the resolver's hint).

        A failure surfaces only if :meth:`project_page` is later asked for that project.
        """
        with self._lock:
            for name in names:
                project = canonicalize_name(name)
                if project in self._pages or self._prefetch_workers < 1:
                    continue
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self._prefetch_workers, thread_name_prefix="index-prefetch"
                    )
                self._pages[project] = self._executor.submit(self._load_page, project)

    def project_page(self, name: str) -> ProjectPage:
        """Every file of ``name`` across the indexes and find-links (fetched once per client)."""
        project = canonicalize_name(name)
        with self._lock:
            future = self._pages.get(project)
            owner = future is None
            if future is None:
                future = self._pages[project] = Future()
        if owner:
            try:
                future.set_result(self._load_page(project))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def file_sha256(self, file: IndexFile) -> str:
        """The file's sha256: from the index when listed, else computed by downloading it."""
        if file.sha256:
            return file.sha256
        with self._lock:
            known = self._digests.get(file.url)
        if known is None:
            path = fetch_wheels(
                [file.link()], cache_dir=self.cache_dir, http=self.http, allow_unhashed=True
            )[file.filename]
            known = self._remember_digest(file, path)
        return known

    def _remember_digest(self, file: IndexFile, path: Path) -> str:
        digest = path.parent.name  # the cache stores every file under its own sha256
        with self._lock:
            self._digests[file.url] = digest
        return digest

    # -- metadata

    def metadata(self, file: IndexFile) -> str:
        with self._lock:
            cached = self._metadata.get(file.url)
        if cached is not None:
            return cached
        text = self._read_metadata(file)
        with self._lock:
            self._metadata[file.url] = text
        return text

    def _read_metadata(self, file: IndexFile) -> str:
        if file.metadata_sha256 is not None:
            expected = file.metadata_sha256 if isinstance(file.metadata_sha256, str) else None
            try:
                data = fetch_bytes(
                    file.metadata_url,
                    file.filename + ".metadata",
                    sha256=expected,
                    cache_dir=self.cache_dir,
                    http=self.http,
                )
                return data.decode("utf-8", errors="replace")
            except HashMismatchError:
                raise
            except FetchError:
                pass  # advertised but unavailable: fall back to the wheel itself
        if not file.is_wheel:
            raise FetchError(f"cannot read metadata of {file.filename}: only wheels are supported")
        path = fetch_wheels(
            [file.link()], cache_dir=self.cache_dir, http=self.http, allow_unhashed=True
        )[file.filename]
        if not file.sha256:
            self._remember_digest(file, path)
        return read_wheel_metadata(path, file.filename)


def merge_pages(pages: Sequence[ProjectPage]) -> ProjectPage:
    """Files of several pages, first occurrence of each filename kept (configuration order)."""
    seen: dict[str, IndexFile] = {}
    for page in pages:
        for file in page.files:
            seen.setdefault(file.filename, file)
    return ProjectPage(
        files=tuple(seen.values()), name=next((p.name for p in pages if p.name), None)
    )
