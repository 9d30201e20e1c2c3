"""Release history kept in the cache, so that change rates cost the index at most one request
per package a day.

Per index URL and project, an entry holds the project page's files as the rates need them
(filename, upload time, yanked) with the index's validators (ETag, Last-Modified) and when the
index last answered. An entry younger than `HISTORY_TTL` (24 hours: a release a day late moves
a rate by a fraction of a percent) is used as it is. An older one is revalidated with
If-None-Match / If-Modified-Since: a 304 keeps its files for another day, a 200 replaces them.
When the index cannot be reached, whatever is cached is used however old, and the build says so.

Entries live in ``<cache>/release-history/v1/<aa>/<sha256 of the page URL>.json`` (the URL
without credentials), written atomically. Each is untrusted when read back: one that is not
valid JSON of this shape, is about another URL, or claims a time in the future is ignored and
fetched again. What a page reduces to for a target (its release times: parsing thousands of
file names) is memoised under ``times/``, keyed by the entries' digests, the target and the
reducing code, and validated when read back too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from ..errors import FetchError
from ..files import write_text_atomic
from ..resolve.http import split_auth
from ..resolve.pages import ACCEPT, IndexFile, ProjectPage, merge_pages, parse_response

if TYPE_CHECKING:
    from ..resolve.http import HttpSession
    from ..resolve.load import SharedIndex
    from ..targets import Target

HISTORY_TTL = 24 * 3600.0  # seconds an entry is used without asking the index
CLOCK_SKEW = 300.0  # seconds an entry's time may lie ahead of this machine's clock
ENTRY_FORMAT = 1
MAX_FILES = 200_000
MAX_TEXT = 1024  # characters of a validator or a file name kept
_WORKERS = 8

Warn = Callable[[str], None]
# A page reduced for a target: its release times, and whether it carried upload times at all.
Reduced = tuple[tuple[datetime, ...], bool]
# A project's facts from every index, and a digest of their entries.
Loaded = tuple[tuple["PageFacts", ...], str]


@dataclass(frozen=True)
class PageFacts:
    """What the cache keeps of one index's project page."""

    url: str  # the page URL, without credentials
    fetched: float  # epoch seconds when the index last answered for it
    etag: str | None
    last_modified: str | None
    # (filename, upload time, yanked) each; as read back, checked only by `page` (a build whose
    # memoised release times are found never needs them)
    files: Sequence[object]

    def page(self) -> ProjectPage:
        """The page's files; `ValueError` when one is not a valid fact."""
        return ProjectPage(
            files=tuple(
                IndexFile(filename=name, url="", upload_time=when, yanked=yanked)
                for name, when, yanked in map(_file, self.files)
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ENTRY_FORMAT,
            "url": self.url,
            "fetched": self.fetched,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "files": [list(f) for f in self.files if isinstance(f, list | tuple)],
        }


def _text(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TEXT
        and value.isprintable()
        and "\r" not in value
        and "\n" not in value
    )


def _file(item: object) -> tuple[str, str | None, bool]:
    if not isinstance(item, list | tuple) or len(item) != 3:  # noqa: PLR2004
        raise ValueError("a file is [filename, upload time, yanked]")
    name, when, yanked = item
    if not _text(name) or "/" in name or (when is not None and not _text(when)):
        raise ValueError("bad filename or upload time")
    if not isinstance(yanked, bool):
        raise ValueError("yanked must be true or false")
    return name, when, yanked


def parse_entry(data: object, url: str, now: float) -> PageFacts:
    """A cache entry read back, validated; `ValueError` says what is wrong."""
    if not isinstance(data, Mapping) or data.get("format") != ENTRY_FORMAT:
        raise ValueError("not an entry of this format")
    if data.get("url") != url:
        raise ValueError("the entry is about another page")
    fetched = data.get("fetched")
    if not isinstance(fetched, int | float) or isinstance(fetched, bool):
        raise ValueError("fetched must be a number")
    if not math.isfinite(fetched) or fetched > now + CLOCK_SKEW:
        raise ValueError("fetched lies in the future")
    validators = [data.get("etag"), data.get("last_modified")]
    if not all(v is None or _text(v) for v in validators):
        raise ValueError("bad validator")
    files = data.get("files")
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise ValueError("files must be a list")
    return PageFacts(url, float(fetched), validators[0], validators[1], files)


def facts_of(page: ProjectPage) -> tuple[tuple[str, str | None, bool], ...]:
    """The facts of a page the cache keeps (names and validators it cannot keep are dropped)."""
    return tuple(
        (f.filename, f.upload_time if _text(f.upload_time) else None, f.yanked)
        for f in page.files
        if _text(f.filename) and "/" not in f.filename
    )


class ReleaseCache:
    """The entries under ``<cache_dir>/release-history``."""

    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir / "release-history" / f"v{ENTRY_FORMAT}"

    def _path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def load(self, url: str, now: float) -> tuple[PageFacts, str] | None:
        """The entry for `url` and the sha256 of its text, when there is a valid one."""
        try:
            text = self._path(url).read_text(encoding="utf-8")
            return parse_entry(json.loads(text), url, now), _sha256(text)
        except (OSError, ValueError):
            return None

    def store(self, facts: PageFacts) -> str:
        """Write an entry atomically and return the sha256 of its text; a cache that cannot
        take it costs the next build a request."""
        text = json.dumps(facts.to_dict(), separators=(",", ":"))
        path = self._path(facts.url)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
        return _sha256(text)

    def discard(self, url: str) -> None:
        with contextlib.suppress(OSError):
            self._path(url).unlink()

    def _times_path(self, key: str) -> Path:
        return self.root / "times" / key[:2] / f"{key}.json"

    def load_times(self, key: str) -> Reduced | None:
        """Release times memoised under `key`, validated."""
        try:
            data = json.loads(self._times_path(key).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("dated"), bool):
                return None
            raw = data.get("times")
            if not isinstance(raw, list) or len(raw) > MAX_FILES:
                return None
            times = tuple(datetime.fromisoformat(t) for t in raw if isinstance(t, str))
        except (OSError, ValueError, TypeError):
            return None
        if len(times) != len(raw) or any(t.tzinfo is None for t in times):
            return None
        return times, data["dated"]

    def store_times(self, key: str, reduced: Reduced) -> None:
        times, dated = reduced
        document = {"times": [t.isoformat() for t in times], "dated": dated}
        path = self._times_path(key)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(document))


def _combined(found: Sequence[tuple[PageFacts, str]]) -> Loaded:
    return tuple(facts for facts, _ in found), _sha256("\n".join(d for _, d in found))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_REDUCER: list[str] = []


def reducer_identity() -> str:
    """The code that turns a page into release times for a target: this module, the evidence,
    rates and targets modules, and packaging's version (wheel tags)."""
    if not _REDUCER:
        from packaging import __version__ as packaging_version

        digest = hashlib.sha256(packaging_version.encode())
        here = Path(__file__).parent
        for name in ("releases.py", "evidence.py", "rates.py", "../targets.py"):
            path = here / name
            digest.update(path.read_bytes())
        _REDUCER.append(digest.hexdigest())
    return _REDUCER[0]


class CachedReleases:
    """Project pages as change rates need them (`project_page`, `describe`): from the release
    cache, asking the indexes at `index_urls` only for entries missing or older than `ttl`.
    The HTTP session is made on first use, so a build answered from the cache opens none."""

    def __init__(
        self,
        index_urls: Iterable[str],
        http: Callable[[], HttpSession],
        cache_dir: Path,
        *,
        warn: Warn | None = None,
        target_key: str | None = None,
        ttl: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._urls = tuple(index_urls)
        self._http = http
        self._cache = ReleaseCache(cache_dir)
        self._warn = warn
        self._ttl = HISTORY_TTL if ttl is None else ttl
        self._clock = clock or time.time
        self._target_key = target_key
        self._pages: dict[str, Loaded | FetchError] = {}
        self.stale: dict[str, float] = {}  # page URL -> age (s) of the facts used offline

    def describe(self) -> str:
        from ..resolve.http import redact_url

        return ", ".join(redact_url(u) for u in self._urls)

    def load(self, names: Iterable[str]) -> None:
        """Read the pages of `names` (from the cache, else the indexes, several at a time),
        then warn once if some came from old entries because an index did not answer."""
        todo = sorted({canonicalize_name(n) for n in names} - self._pages.keys())
        fresh: dict[str, Loaded] = {p: found for p in todo if (found := self._fresh(p))}
        self._pages.update(fresh)
        todo = [p for p in todo if p not in fresh]
        if todo:  # the indexes are asked several at a time; the cache needed no thread
            workers = min(_WORKERS, len(todo))
            with ThreadPoolExecutor(workers, thread_name_prefix="releases") as pool:
                self._pages.update(zip(todo, pool.map(self._project, todo), strict=True))
        if self.stale and self._warn is not None:
            hours = max(self.stale.values()) / 3600
            self._warn(
                f"could not reach {self.describe()}: change rates use the release history "
                f"cached up to {hours:,.0f} hours ago for {len(self.stale)} pages"
            )

    def project_page(self, name: str) -> ProjectPage:
        project = canonicalize_name(name)
        facts, _ = self._loaded(project)
        try:
            return merge_pages([f.page() for f in facts])
        except ValueError:  # a damaged entry: dropped, and the page asked for again
            for f in facts:
                self._cache.discard(f.url)
            del self._pages[project]
            facts, _ = self._loaded(project)
            return merge_pages([f.page() for f in facts])

    def _loaded(self, project: str) -> Loaded:
        if project not in self._pages:
            self.load([project])
        found = self._pages[project]
        if isinstance(found, FetchError):
            raise found
        return found

    def reduced(self, name: str, reduce: Callable[[ProjectPage], Reduced]) -> Reduced:
        """`reduce(page)` of `name`'s page, memoised in the cache by the page's entries, the
        target (`target_key`) and `reducer_identity()`: a warm build parses no file name of a
        page it reduced before."""
        project = canonicalize_name(name)
        if self._target_key is None:
            return reduce(self.project_page(project))
        _, digest = self._loaded(project)
        key = _sha256(f"{digest}\0{self._target_key}\0{reducer_identity()}")
        memo = self._cache.load_times(key)
        if memo is None:
            page = self.project_page(project)
            memo = reduce(page)
            _, digest = self._loaded(project)  # another digest when a damaged entry was replaced
            key = _sha256(f"{digest}\0{self._target_key}\0{reducer_identity()}")
            self._cache.store_times(key, memo)
        return memo

    def _fresh(self, project: str) -> Loaded | None:
        """Every index's entry for `project`, when all are in the cache and younger than the
        time to live; else None."""
        found = [self._cache.load(self._url(u, project), self._clock()) for u in self._urls]
        now = self._clock()
        if any(f is None or now - f[0].fetched >= self._ttl for f in found):
            return None
        return _combined([f for f in found if f is not None])

    def _project(self, project: str) -> Loaded | FetchError:
        """Every index's page for `project`: from the cache or asked for."""
        try:
            return _combined([self._facts(f"{u.rstrip('/')}/{project}/") for u in self._urls])
        except FetchError as exc:
            return exc

    @staticmethod
    def _url(index_url: str, project: str) -> str:
        return split_auth(f"{index_url.rstrip('/')}/{project}/")[0]

    def _facts(self, url: str) -> tuple[PageFacts, str]:
        """The page's facts and the digest of their entry."""
        now = self._clock()
        clean = split_auth(url)[0]
        cached = self._cache.load(clean, now)
        if cached is not None and now - cached[0].fetched < self._ttl:
            return cached
        try:
            fresh = self._fetch(url, clean, cached[0] if cached else None, now)
        except FetchError:
            if cached is None:
                raise
            self.stale[clean] = now - cached[0].fetched
            return cached
        return fresh, self._cache.store(fresh)

    def _fetch(self, url: str, clean: str, cached: PageFacts | None, now: float) -> PageFacts:
        """Ask the index, conditionally when there is an entry to revalidate."""
        from urllib3.exceptions import HTTPError

        from ..resolve.http import redact_url

        headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        try:
            with self._http().open(url, headers=headers) as response:
                if response.status == 304 and cached is not None:  # noqa: PLR2004
                    return PageFacts(clean, now, cached.etag, cached.last_modified, cached.files)
                if response.status in (404, 410):
                    return PageFacts(clean, now, None, None, ())
                if response.status != 200:  # noqa: PLR2004
                    raise FetchError(
                        f"index page {redact_url(url)} answered HTTP {response.status}"
                    )
                page = parse_response(response.read(), response.content_type, response.url)
                etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        except HTTPError as exc:
            raise FetchError(f"could not fetch {redact_url(url)}: {exc}") from exc
        return PageFacts(
            clean,
            now,
            etag if _text(etag) else None,
            modified if _text(modified) else None,
            facts_of(page),
        )


def release_pages(
    index: SharedIndex, names: Iterable[str], target: Target, *, warn: Warn
) -> CachedReleases | None:
    """The release history of `names` for change rates on `target`, loaded: from the cache,
    the build's index client asked only for what is missing or old. None (with a warning)
    when no index is configured."""
    from ..errors import ConfigError
    from ..resolve.cache import default_cache_dir

    try:
        urls = index.settings().index_urls
    except ConfigError as exc:
        warn(f"no release history for change rates: {exc}")
        return None
    releases = CachedReleases(
        urls,
        lambda: index.get().http,
        default_cache_dir(),
        warn=warn,
        target_key=f"{target.runtime}-{target.architecture}",
    )
    releases.load(names)
    return releases
