"""A wheel's RECORD (pure: text in): which members it vouches for, with which digest and size.

Rows are ``path,<algorithm>=<urlsafe base64 digest, no padding>,size``. Only algorithms of
sha256 strength or more count (the wheel specification forbids weaker ones); a row with an
empty hash vouches for nothing, which is only right for the files RECORD cannot list (RECORD
itself and its signatures, `UNLISTABLE`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
from dataclasses import dataclass

from ..errors import CorruptWheelError

HASH_ALGORITHMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)


UNLISTABLE = ("RECORD", "RECORD.jws", "RECORD.p7s")


_PATH, _HASH, _SIZE = 0, 1, 2  # RECORD columns


@dataclass(frozen=True)
class RecordRow:
    """What RECORD says of one member: its digest under `algorithm`, and its size if given."""

    algorithm: str
    digest: bytes
    size: int | None


def unlistable(member: str, dist_info: str) -> bool:
    """True for the members RECORD cannot vouch for: RECORD itself and its signatures."""
    return member in {f"{dist_info}/{name}" for name in UNLISTABLE}


def parse_record(text: str, where: str) -> dict[str, RecordRow]:
    """member -> its row, for every row of RECORD `text` that carries a hash.

    `where` names RECORD in errors (e.g. ``wheel x.whl: x-1.dist-info/RECORD``). A malformed
    row, a weak or unknown algorithm, a digest of the wrong length or a member listed twice with
    different facts raise `CorruptWheelError`.
    """
    rows: dict[str, RecordRow] = {}
    try:
        parsed = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CorruptWheelError(f"{where} is not valid CSV ({exc}); rebuild the wheel") from None
    for number, row in enumerate(parsed, start=1):
        if not row or len(row) <= _HASH or not row[_HASH]:
            continue
        line = f"{where} line {number}"
        entry = _row(row, line)
        previous = rows.setdefault(row[_PATH], entry)
        if previous != entry:
            raise CorruptWheelError(
                f"{line} lists {row[_PATH]!r} a second time with other facts; rebuild the wheel"
            )
    return rows


def _row(row: list[str], line: str) -> RecordRow:
    algorithm, sep, encoded = row[_HASH].partition("=")
    if not sep or algorithm not in HASH_ALGORITHMS:
        raise CorruptWheelError(
            f"{line}: hash {row[_HASH]!r} is not <algorithm>=<digest> with sha256 or a stronger "
            "algorithm; rebuild the wheel"
        )
    try:
        digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise CorruptWheelError(
            f"{line}: {row[_HASH]!r} is not a {algorithm} digest; rebuild the wheel"
        )
    size_text = row[_SIZE] if len(row) > _SIZE else ""
    if size_text and not (size_text.isascii() and size_text.isdigit()):
        raise CorruptWheelError(f"{line}: size {size_text!r} is not a number; rebuild the wheel")
    return RecordRow(algorithm, digest, int(size_text) if size_text else None)
