"""Typed access to untrusted JSON objects (a previous manifest, a publish record): every error
names the file and the field's path (``layers[0].sha256``), says what was expected, and quotes
the value, shortened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import ManifestError

_SHOWN_MAX = 60  # characters of a value quoted in an error


HEX64 = re.compile(r"[0-9a-f]{64}")


CONTENT_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class Reader:
    """Typed access to one JSON object of a manifest; every error names the field's path
    (``layers[0].sha256``) and the file, and says what was expected."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ManifestError(
                f"{source}: {where or 'the manifest'} must be an object, got {kind(data)}"
            )
        self.data: Mapping[str, Any] = data
        self.where = where
        self.source = source

    def _fail(self, key: str, expected: str, value: object) -> ManifestError:
        return ManifestError(
            f"{self.source}: field {self.where}{key} must be {expected}, got {shown(value)}; "
            f"the manifest was edited or is corrupt: rebuild it"
        )

    def _value(self, key: str, required: bool) -> object:
        if key not in self.data:
            if required:
                raise ManifestError(
                    f"{self.source}: missing field {self.where}{key}; the manifest was edited or "
                    f"is corrupt: rebuild it"
                )
            return None
        return self.data[key]

    def string(
        self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None
    ) -> str:
        value = self._value(key, required)
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            raise self._fail(
                key,
                "a string" if pattern is None else f"a string matching {pattern.pattern}",
                value,
            )
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._value(key, False)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string or null", value)
        return value

    def integer(self, key: str, *, required: bool = True, default: int = 0) -> int:
        value = self._value(key, required)
        if value is None and not required:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self._fail(key, "a whole number >= 0", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        value = self._value(key, False)
        return None if value is None else self.integer(key)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._value(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def rate(self, key: str) -> float | None:
        value = self._value(key, False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise self._fail(key, "a number from 0 to 1", value)
        return float(value)

    def objects(self, key: str, *, required: bool = True) -> list[Reader]:
        value = self._value(key, required)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "an array", value)
        return [
            Reader(item, f"{self.where}{key}[{i}].", self.source) for i, item in enumerate(value)
        ]

    def child(self, key: str) -> Reader:
        value = self._value(key, True)
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object", value)
        return Reader(value, f"{self.where}{key}.", self.source)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._value(key, True)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "an array of strings", value)
        return tuple(value)

    def optional_strings(self, key: str) -> tuple[str, ...] | None:
        return None if self._value(key, False) is None else self.strings(key)

    def optional_child(self, key: str) -> Reader | None:
        return None if self._value(key, False) is None else self.child(key)

    def history(self, key: str) -> tuple[Mapping[str, str], ...]:
        value = self._value(key, False)
        if value is None:
            return ()
        entries: list[Mapping[str, str]] = []
        for h in value if isinstance(value, list) else [None]:
            if not isinstance(h, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in h.items()
            ):
                raise self._fail(key, "an array of {name: version} objects", value)
            entries.append(dict(h))
        return tuple(entries)


def kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value),
        "a number"
        if isinstance(value, int | float)
        else "null"
        if value is None
        else type(value).__name__,
    )


def shown(value: object) -> str:
    text = (
        json.dumps(value)
        if isinstance(value, str | int | float | bool) or value is None
        else kind(value)
    )
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


_T = TypeVar("_T")


def optional(reader: Reader | None, read: Callable[[Reader], _T]) -> _T | None:
    return None if reader is None else read(reader)
