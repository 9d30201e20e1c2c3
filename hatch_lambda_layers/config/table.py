"""Reading one TOML table strictly: typed getters that record a problem (with the full key and
the offending value, as TOML spells it) instead of raising, and the checks of list items.
"""

from __future__ import annotations

import difflib
import json
import keyword
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from packaging.utils import InvalidName, canonicalize_name

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on Python 3.10 only
    pass


_SHOWN_MAX = 80  # characters of a quoted value in an error message


# AWS has no library-free validator for these shapes (botocore is an optional extra), so the
# patterns are written out: layer version ARNs, Lambda resource names, botocore service names.
_LAYER_VERSION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:layer:[A-Za-z0-9_-]{1,140}:[1-9]\d*"
)


_LAYER_ARN_WITHOUT_VERSION = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:layer:[A-Za-z0-9_-]{1,140}"
)


_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


_SERVICE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


_BARE_TOML_KEY = re.compile(r"[A-Za-z0-9_-]+")


_URL_SCHEMES = ("http", "https", "file")


def _join(path: str, key: str) -> str:
    """The dotted TOML key of `key` inside `path`, quoting keys that are not bare."""
    return f"{path}.{key}" if _BARE_TOML_KEY.fullmatch(key) else f"{path}.{json.dumps(key)}"


def _show(value: object) -> str:
    """A value as TOML spells it, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value)
        return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 4] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    return _type_name(value)


# TOML's names for Python's types, most specific first (a bool is also an int).
_TOML_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    ((list, tuple), "an array"),
    (Mapping, "a table"),
)


def _type_name(value: object) -> str:
    for kind, name in _TOML_TYPES:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _got(value: object) -> str:
    """`got ...` for a value of the wrong type: the value and what TOML type it is."""
    if isinstance(value, list | tuple | Mapping):
        return f"got {_type_name(value)}"
    return f"got {_show(value)} ({_type_name(value)})"


def _one_of(choices: Iterable[str]) -> str:
    return ", ".join(json.dumps(c) for c in choices)


def _unknown_key(path: str, key: str, known: tuple[str, ...]) -> str:
    full = _join(path, key)
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"{full} is not a known key; did you mean {_join(path, close[0])}?"
    return f"{full} is not a known key; known keys are {', '.join(known)}"


_Checked = tuple[str, None] | tuple[None, str]


_ItemCheck = Callable[[str], _Checked]


def _check_name(item: str) -> _Checked:
    try:
        # validate=True applies the PEP 508 name pattern before normalizing.
        return canonicalize_name(item, validate=True), None
    except InvalidName:
        return None, f"{_show(item)} is not a valid distribution name (PEP 508)"


def _check_layer_arn(item: str) -> _Checked:
    if _LAYER_VERSION_ARN.fullmatch(item):
        return item, None
    if _LAYER_ARN_WITHOUT_VERSION.fullmatch(item):
        return None, f"{_show(item)} has no version; add it, e.g. {json.dumps(item + ':1')}"
    return None, (
        f"{_show(item)} is not a Lambda layer version ARN "
        '("arn:aws:lambda:<region>:<account id>:layer:<name>:<version>")'
    )


def _check_url(item: str) -> _Checked:
    parts = urlsplit(item)
    if (
        parts.scheme in _URL_SCHEMES
        and (parts.netloc or parts.scheme == "file")
        and not any(c.isspace() for c in item)
    ):
        return item, None
    return None, f"{_show(item)} is not an http, https or file URL"


def _check_url_or_path(item: str) -> _Checked:
    if "://" in item:
        return _check_url(item)
    if not item.strip():
        return None, "is empty; give a URL or a directory"
    return item, None


def _check_glob(item: str) -> _Checked:
    if not item:
        return None, "is an empty pattern"
    if item.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", item):
        return None, f"{_show(item)} is absolute; patterns are relative paths"
    if ".." in re.split(r"[\\/]", item):
        return None, f"{_show(item)} climbs out with '..'; patterns are relative paths"
    return item, None


def _check_service(item: str) -> _Checked:
    if _SERVICE_NAME.fullmatch(item):
        return item, None
    hint = f'; did you mean "{item.lower()}"?' if _SERVICE_NAME.fullmatch(item.lower()) else ""
    return None, (
        f'{_show(item)} is not a botocore service name (lowercase, e.g. "s3", "dynamodb"){hint}'
    )


def _check_dependency(item: str) -> _Checked:
    """A function's dependency: a distribution name; versions come from the project's lock."""
    checked = _check_name(item)
    if checked[0] is not None:
        return checked
    bare = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", item)
    if bare and _check_name(bare.group(1))[0] is not None:
        return None, (
            f"{_show(item)} is not a distribution name: write {json.dumps(bare.group(1))}; its "
            "version and extras come from the project's dependencies and lock"
        )
    return checked


def _handler_problem(value: str) -> str | None:
    parts = value.split(".")
    if len(parts) > 1 and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return (
        f'must be "module.function" (dotted Python names, e.g. "app.handler"), got {_show(value)}'
    )


_Choice = TypeVar("_Choice", bound=str)


class _Table:
    """Typed getters over one TOML table that record problems instead of raising."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: list[str]) -> None:
        self.data = data
        self.path = path
        self.problems = problems

    def key(self, name: str) -> str:
        return _join(self.path, name)

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.key(name)} {message}")

    def check_unknown(self, known: tuple[str, ...]) -> None:
        for name in self.data:
            if name not in known:
                self.problems.append(_unknown_key(self.path, str(name), known))

    def string(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(name, f"must be a string, {_got(value)}")
            return None
        if not value.strip():
            self.problem(name, "must not be empty")
            return None
        return value

    def choice(self, name: str, choices: tuple[_Choice, ...], default: _Choice) -> _Choice:
        value = self.data.get(name)
        if value is None:
            return default
        for choice in choices:
            if value == choice and isinstance(value, str):
                return choice
        got = f"got {_show(value)}" if isinstance(value, str) else _got(value)
        self.problem(name, f"must be one of {_one_of(choices)}, {got}")
        return default

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.problem(name, f"must be true or false, {_got(value)}")
            return default
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            got = f"got {value}" if type(value) is int else _got(value)
            self.problem(name, f"must be an integer from {low} to {high}, {got}")
            return None
        return value

    def number(self, name: str, low: float, high: float, default: float) -> float:
        value = self.data.get(name, default)
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok_type or not math.isfinite(value) or not low <= value <= high:
            got = f"got {_show(value)}" if ok_type else _got(value)
            self.problem(name, f"must be a number from {low:g} to {high:g}, {got}")
            return default
        return float(value)

    def array(self, name: str, what: str, check: _ItemCheck | None = None) -> tuple[str, ...]:
        """A list of strings, each normalized by `check`; duplicates dropped, order kept."""
        value = self.data.get(name)
        if value is None:
            return ()
        return _string_array(value, self.key(name), what, self.problems, check)


def _string_array(
    value: object,
    key: str,
    what: str,
    problems: list[str],
    check: _ItemCheck | None = None,
    *,
    keep_duplicates: bool = False,
) -> tuple[str, ...]:
    if isinstance(value, str):
        problems.append(
            f"{key} must be a list of {what}, got a string; write [{json.dumps(value)}]"
        )
        return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{key} must be a list of {what}, {_got(value)}")
        return ()
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(f"{key}[{index}] must be a string, {_got(item)}")
            continue
        if check is None:
            normalized: str | None = item if item.strip() else None
            reason = None if normalized is not None else "is empty"
        else:
            normalized, reason = check(item)
        if normalized is None:
            problems.append(f"{key}[{index}] {reason}")
        elif keep_duplicates or normalized not in items:
            items.append(normalized)
    return tuple(items)
