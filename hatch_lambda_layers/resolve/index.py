"""Simple-repository API client: project pages and PEP 658/714 metadata from every configured
location.

:class:`IndexClient` asks every configured index for a project's page (JSON preferred, HTML
accepted; parsed by :mod:`.pages`), adds matching files from find-links locations, and reads a
file's core metadata from the PEP 658 ``.metadata`` sidecar when the index advertises one, else
from the wheel itself (downloaded through :mod:`.fetch`).

The resolver depends only on the :class:`PackageIndex` protocol, so tests can pass a fake.
"""

from __future__ import annotations

import hashlib
import threading
import zipfile
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from typing import Protocol

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import FetchError, HashMismatchError
from .fetch import fetch_bytes, fetch_wheels
from .http import HttpSession, local_path, redact_url
from .indexconfig import IndexSettings
from .pages import ACCEPT, IndexFile, ProjectPage, merge_pages, parse_response, project_of

# IndexFile, ProjectPage and project_of are the vocabulary of `PackageIndex`; importers may
# take them from here or from `.pages`.
__all__ = [
    "IndexClient",
    "IndexFile",
    "PackageIndex",
    "ProjectPage",
    "project_of",
    "read_wheel_metadata",
]


MAX_METADATA_BYTES = 64 * 1024 * 1024  # a METADATA file is read whole: bounded


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
            info = archive.getinfo(sorted(candidates)[0])
            if info.file_size > MAX_METADATA_BYTES:
                raise FetchError(f"{filename}: its METADATA declares {info.file_size:,} bytes")
            return archive.read(info).decode("utf-8", errors="replace")
    except UnicodeDecodeError:
        raise FetchError(f"{filename} has a member name that is not valid UTF-8") from None
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
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
        if fetched.status != HTTPStatus.OK:
            raise FetchError(
                f"index page {redact_url(page_url)} answered HTTP {fetched.status}; check the "
                f"index URL and its credentials"
            )
        return parse_response(fetched.body, fetched.content_type, fetched.url)

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
        pages += [
            ProjectPage(files=tuple(self._find_links_files(location, project)))
            for location in self._find_links
        ]
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
            return self._sdist_metadata(file)
        path = fetch_wheels(
            [file.link()], cache_dir=self.cache_dir, http=self.http, allow_unhashed=True
        )[file.filename]
        if not file.sha256:
            self._remember_digest(file, path)
        return read_wheel_metadata(path, file.filename)

    def _sdist_metadata(self, file: IndexFile) -> str:
        """METADATA of the pure-Python wheel built from the sdist `file` (cached)."""
        from .sdist import SdistBuild, built_wheel, is_sdist

        if not is_sdist(file.filename):
            raise FetchError(f"cannot read metadata of {file.filename}: not a wheel or an sdist")
        options = SdistBuild(cache_dir=self.cache_dir, http=self.http, settings=self.settings)
        wheel = built_wheel(file.link(), options, allow_unhashed=True)
        return read_wheel_metadata(wheel, wheel.name)
