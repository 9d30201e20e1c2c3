"""Where package indexes come from when ``tool.lambda-layers`` does not name them.

The user's own pip/uv configuration decides, so a build resolves from the same (possibly
private, possibly authenticated) indexes that ``pip install`` or ``uv sync`` would use.

Each setting (primary index, extra indexes, find-links) is taken from the first source that sets
it, in this order:

1. ``tool.lambda-layers``: ``index-url``, ``extra-index-urls``, ``find-links``;
2. uv's environment: ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL``; ``UV_INDEX`` and
   ``UV_EXTRA_INDEX_URL`` (space separated; ``name=url`` accepted); ``UV_FIND_LINKS``;
3. pip's environment: ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``;
4. pip's configuration files (later files override earlier ones, ``[install]`` overrides
   ``[global]``), as pip reads them;
5. uv's configuration (``uv.toml`` or ``[tool.uv]``): ``[[index]]`` (the ``default = true``
   entry is the primary index, ``explicit`` ones are skipped), ``index-url``,
   ``extra-index-url``, ``find-links``;
6. the default index of the installed pip (see :func:`pip_default_index`).

``no-index`` (``PIP_NO_INDEX``, ``UV_NO_INDEX``, pip.conf, uv.toml) drops every index that does
not come from ``tool.lambda-layers``, leaving find-links only. Credentials for named uv indexes
come from ``UV_INDEX_<NAME>_USERNAME`` / ``UV_INDEX_<NAME>_PASSWORD`` as uv reads them.

:func:`index_settings` is pure (texts and mappings in); :func:`discover_index_settings` reads the
files and the environment.
"""

from __future__ import annotations

import configparser
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import ConfigError
from .http import local_path, redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "IndexSettings",
    "discover_index_settings",
    "index_settings",
    "pip_default_index",
]

NO_INDEX_MESSAGE = "no package index configured: set tool.lambda-layers.index-url or PIP_INDEX_URL"


@dataclass(frozen=True)
class IndexSettings:
    """Index URLs in priority order (primary first) and find-links locations."""

    index_urls: tuple[str, ...]
    find_links: tuple[str, ...] = ()

    def describe(self) -> str:
        """Every location with passwords redacted: safe for messages and logs."""
        return ", ".join(redact_url(u) for u in (*self.index_urls, *self.find_links))


class IndexConfig(Protocol):
    """The three ``tool.lambda-layers`` keys as the parsed config exposes them."""

    @property
    def index_url(self) -> str | None: ...

    @property
    def extra_index_urls(self) -> Sequence[str]: ...

    @property
    def find_links(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class _Layer:
    """What one source says; None means "not set here"."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] | None = None
    find_links: tuple[str, ...] | None = None
    no_index: bool | None = None


def pip_default_index() -> str | None:
    """The default index of the pip installed next to us, or None when pip is not importable.

    Asking pip keeps any registry's host name out of this code base: the public default is
    whatever the user's own pip would use. It is a private pip API, hence the broad guard.
    """
    try:
        module = importlib.import_module("pip._internal.models.index")
        url = module.PyPI.simple_url
    except Exception:
        return None
    return url if isinstance(url, str) and url else None


def _words(value: str | None) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    return tuple(value.split())


def _truthy(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n", ""):
        return False
    return None


_UV_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)=(.+)$")


def _with_uv_credentials(name: str | None, url: str, environ: Mapping[str, str]) -> str:
    """Add ``UV_INDEX_<NAME>_USERNAME/PASSWORD`` to a named index URL, as uv does."""
    if not name:
        return url
    key = re.sub(r"[^A-Z0-9]", "_", name.upper())
    user = environ.get(f"UV_INDEX_{key}_USERNAME")
    password = environ.get(f"UV_INDEX_{key}_PASSWORD")
    if not user and not password:
        return url
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.scheme not in ("http", "https"):
        return url
    userinfo = quote(user or "", safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def _uv_index_arg(value: str, environ: Mapping[str, str]) -> str:
    """``name=url`` (uv's ``--index`` form) or a bare URL."""
    match = _UV_NAME.match(value)
    if match and "://" not in match.group(1) and "/" not in match.group(1):
        return _with_uv_credentials(match.group(1), match.group(2), environ)
    return value


def _environment_layers(environ: Mapping[str, str]) -> tuple[_Layer, _Layer]:
    def get(name: str) -> str | None:
        value = environ.get(name)
        return value.strip() if value and value.strip() else None

    uv_default = get("UV_DEFAULT_INDEX") or get("UV_INDEX_URL")
    uv_extra = [*(_words(get("UV_INDEX")) or ()), *(_words(get("UV_EXTRA_INDEX_URL")) or ())]
    uv_find = get("UV_FIND_LINKS")  # uv documents this one as comma separated
    uv = _Layer(
        index_url=_uv_index_arg(uv_default, environ) if uv_default else None,
        extra_index_urls=tuple(_uv_index_arg(u, environ) for u in uv_extra) or None,
        find_links=_words(uv_find.replace(",", " ")) if uv_find else None,
        no_index=_truthy(get("UV_NO_INDEX")),
    )
    pip = _Layer(
        index_url=get("PIP_INDEX_URL"),
        extra_index_urls=_words(get("PIP_EXTRA_INDEX_URL")),
        find_links=_words(get("PIP_FIND_LINKS")),
        no_index=_truthy(get("PIP_NO_INDEX")),
    )
    return uv, pip


def _pip_conf_layer(texts: Sequence[str], names: Sequence[str]) -> _Layer:
    """Merge pip config files (later ones win), then let ``[install]`` beat ``[global]``."""
    merged: dict[tuple[str, str], str] = {}
    for position, text in enumerate(texts):
        parser = configparser.RawConfigParser()
        name = names[position] if position < len(names) else f"pip configuration #{position + 1}"
        try:
            parser.read_string(text, source=name)
        except configparser.Error as exc:
            message = str(exc).splitlines()[0]
            raise ConfigError(f"cannot read pip configuration {name}: {message}") from exc
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    merged[(section, key.replace("_", "-"))] = value

    def get(key: str) -> str | None:
        for section in ("install", "global"):
            value = merged.get((section, key))
            if value is not None:
                return value.strip() or None
        return None

    return _Layer(
        index_url=get("index-url"),
        extra_index_urls=_words(get("extra-index-url")),
        find_links=_words(get("find-links")),
        no_index=_truthy(get("no-index")),
    )


def _strings(value: object, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a string or a list of strings, got {value!r}")


def _uv_layer(uv_conf: Mapping[str, Any], environ: Mapping[str, str]) -> _Layer:
    default: str | None = None
    extras: list[str] = []
    entries = uv_conf.get("index", [])
    if not isinstance(entries, list):
        raise ConfigError(f"uv setting `index` must be an array of tables, got {entries!r}")
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            raise ConfigError(f"uv setting `index[{position}]` needs a `url` string, got {entry!r}")
        name = entry.get("name")
        url = _with_uv_credentials(name if isinstance(name, str) else None, entry["url"], environ)
        if entry.get("explicit") is True:
            continue  # only used for packages pinned to it in tool.uv.sources
        if entry.get("default") is True:
            default = default or url
        else:
            extras.append(url)
    index_url = default or _optional_str(uv_conf.get("index-url"), "uv setting `index-url`")
    extras.extend(_strings(uv_conf.get("extra-index-url"), "uv setting `extra-index-url`") or ())
    return _Layer(
        index_url=index_url,
        extra_index_urls=tuple(extras) or None,
        find_links=_strings(uv_conf.get("find-links"), "uv setting `find-links`"),
        no_index=_truthy(uv_conf.get("no-index")),
    )


def _optional_str(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise ConfigError(f"{where} must be a string, got {value!r}")


def _config_layer(config_values: Mapping[str, object] | None) -> _Layer:
    values = config_values or {}
    return _Layer(
        index_url=_optional_str(values.get("index-url"), "tool.lambda-layers.index-url"),
        extra_index_urls=_strings(
            values.get("extra-index-urls"), "tool.lambda-layers.extra-index-urls"
        )
        or None,
        find_links=_strings(values.get("find-links"), "tool.lambda-layers.find-links") or None,
    )


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def index_settings(
    config_values: Mapping[str, object] | None,
    environ: Mapping[str, str],
    pip_conf_texts: Sequence[str] = (),
    uv_conf: Mapping[str, Any] | None = None,
    *,
    pip_conf_names: Sequence[str] = (),
    default_index: Callable[[], str | None] = pip_default_index,
) -> IndexSettings:
    """Combine every source (see the module docstring for the order); raise ConfigError if none.

    ``config_values`` uses the TOML keys (``index-url``, ``extra-index-urls``, ``find-links``);
    ``pip_conf_texts`` are pip configuration files, lowest precedence first; ``uv_conf`` is the
    merged uv settings table (``uv.toml`` content or ``[tool.uv]``).
    """
    config = _config_layer(config_values)
    uv_env, pip_env = _environment_layers(environ)
    layers = [
        config,
        uv_env,
        pip_env,
        _pip_conf_layer(pip_conf_texts, pip_conf_names),
        _uv_layer(uv_conf or {}, environ),
    ]

    def first(pick: Callable[[_Layer], Any]) -> Any:
        return next((pick(layer) for layer in layers if pick(layer) is not None), None)

    no_index = bool(first(lambda layer: layer.no_index))
    if no_index:
        index_url = config.index_url
        extras: tuple[str, ...] = config.extra_index_urls or ()
    else:
        index_url = first(lambda layer: layer.index_url)
        extras = first(lambda layer: layer.extra_index_urls) or ()
    find_links: tuple[str, ...] = first(lambda layer: layer.find_links) or ()
    if index_url is None and not no_index:
        index_url = default_index()
    if index_url is None and not extras and not (no_index and find_links):
        raise ConfigError(NO_INDEX_MESSAGE)
    urls = (index_url,) if index_url else ()
    return IndexSettings(index_urls=_dedupe((*urls, *extras)), find_links=_dedupe(find_links))


# --------------------------------------------------------------------------- I/O


def _config_values(config: IndexConfig | Mapping[str, object] | None) -> dict[str, object]:
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return {k: config.get(k) for k in ("index-url", "extra-index-urls", "find-links")}
    return {
        "index-url": config.index_url,
        "extra-index-urls": list(config.extra_index_urls),
        "find-links": list(config.find_links),
    }


def _anchor_paths(values: object, base: Path) -> object:
    """Relative find-links paths are relative to the file that names them."""

    def anchor(value: object) -> object:
        if isinstance(value, str):
            path = local_path(value)
            if path is not None and not path.expanduser().is_absolute():
                return str(base / path)
        return value

    if isinstance(values, list):
        return [anchor(v) for v in values]
    return anchor(values)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _xdg(environ: Mapping[str, str], name: str, default: Path) -> Path:
    value = environ.get(name, "")
    return Path(value) if value and Path(value).is_absolute() else default


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files, lowest precedence first (global, user, site, PIP_CONFIG_FILE)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []  # pip's documented switch for "no configuration files"
    home = Path(environ.get("HOME") or Path.home())
    config_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(config_dirs.split(os.pathsep)) if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):  # pip skips user files then
        files.append(home / ".pip" / "pip.conf")
        if sys.platform == "darwin":
            files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
        if os.name == "nt" and environ.get("APPDATA"):
            files.append(Path(environ["APPDATA"]) / "pip" / "pip.ini")
        files.append(_xdg(environ, "XDG_CONFIG_HOME", home / ".config") / "pip" / "pip.conf")
    if environ.get("VIRTUAL_ENV"):
        venv = Path(environ["VIRTUAL_ENV"])
        files.append(venv / ("pip.ini" if os.name == "nt" else "pip.conf"))
    if env_file:
        files.append(Path(env_file))
    return files


def _load_toml(path: Path) -> dict[str, Any] | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from exc


def _uv_settings_in(directory: Path) -> tuple[dict[str, Any], Path] | None:
    """uv.toml, else ``[tool.uv]`` of pyproject.toml, in one directory (uv.toml wins)."""
    uv_toml = _load_toml(directory / "uv.toml")
    if uv_toml is not None:
        return uv_toml, directory / "uv.toml"
    pyproject = _load_toml(directory / "pyproject.toml")
    tool = pyproject.get("tool") if pyproject else None
    if isinstance(tool, dict) and isinstance(tool.get("uv"), dict):
        return tool["uv"], directory / "pyproject.toml"
    return None


def _merge_uv(found: Sequence[tuple[dict[str, Any], Path]]) -> dict[str, Any]:
    """Higher-precedence tables first: keys keep the first value, ``index`` lists concatenate."""
    merged: dict[str, Any] = {}
    for table, path in found:
        for key in ("index-url", "extra-index-url", "find-links", "no-index", "index"):
            if key not in table:
                continue
            value = _anchor_paths(table[key], path.parent) if key == "find-links" else table[key]
            if key == "index" and isinstance(value, list):
                merged["index"] = [*merged.get("index", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def uv_settings(project_root: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """uv's settings as uv would see them from ``project_root`` (project over user over system)."""
    if _truthy(environ.get("UV_NO_CONFIG")):
        return {}
    if environ.get("UV_CONFIG_FILE"):
        path = Path(environ["UV_CONFIG_FILE"])
        table = _load_toml(path)
        if table is None:
            raise ConfigError(f"UV_CONFIG_FILE names {path}, which does not exist")
        return _merge_uv([(table, path)])
    found: list[tuple[dict[str, Any], Path]] = []
    for directory in (project_root.resolve(), *project_root.resolve().parents):
        project = _uv_settings_in(directory)
        if project is not None:
            found.append(project)
            break
    home = Path(environ.get("HOME") or Path.home())
    user = _xdg(environ, "XDG_CONFIG_HOME", home / ".config") / "uv" / "uv.toml"
    system_dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    for path in (
        user,
        *(Path(d) / "uv" / "uv.toml" for d in system_dirs if d),
        Path("/etc/uv/uv.toml"),
    ):
        table = _load_toml(path)
        if table is not None:
            found.append((table, path))
    return _merge_uv(found)


def discover_index_settings(
    config: IndexConfig | Mapping[str, object] | None,
    project_root: Path,
    environ: Mapping[str, str] = os.environ,
) -> IndexSettings:
    """Read the environment, pip's and uv's configuration files, then :func:`index_settings`."""
    values = _config_values(config)
    values["find-links"] = _anchor_paths(values.get("find-links"), project_root)
    values["index-url"] = _anchor_paths(values.get("index-url"), project_root)
    texts: list[str] = []
    names: list[str] = []
    for path in pip_config_files(environ):
        text = _read_text(path)
        if text is not None:
            texts.append(text)
            names.append(str(path))
    return index_settings(
        values, environ, texts, uv_settings(project_root, environ), pip_conf_names=names
    )
