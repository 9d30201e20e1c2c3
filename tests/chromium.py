"""Headless Chromium from the system's packages for the HTML report's tests: a screenshot and the
page's console messages, and a small PNG decoder (zlib only) to look at the screenshot."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> samples per pixel (RGB, RGBA)


@dataclass(frozen=True)
class Render:
    console: tuple[str, ...]  # the page's console lines (errors, uncaught exceptions, logs)
    output: str  # --dump-dom: the DOM after scripts ran; else ""


def render(
    page: Path,
    profile: Path,
    *,
    screenshot: Path | None = None,
    size: str = "1280,900",
    dump_dom: bool = False,
) -> Render:
    """Load `page` (a file) in headless Chromium; take a screenshot or dump the DOM."""
    assert CHROMIUM is not None
    action = ["--dump-dom"] if dump_dom else [f"--screenshot={screenshot}"]
    proc = subprocess.run(
        [
            CHROMIUM,
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size}",
            *action,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = tuple(line for line in proc.stderr.splitlines() if ":CONSOLE" in line)
    return Render(console, proc.stdout if dump_dom else "")


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: tuple[bytes, ...]  # one RGB(A) row each

    def colours(self) -> set[bytes]:
        step = len(self.pixels[0]) // self.width
        return {row[i : i + 3] for row in self.pixels for i in range(0, len(row), step)}


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prior[i]
        corner = prior[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF


def decode_png(data: bytes) -> Image:
    """8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into rows of pixels."""
    assert data.startswith(_PNG_SIGNATURE), "not a PNG"
    pos, idat = len(_PNG_SIGNATURE), b""
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8, "unsupported PNG bit depth"
            assert colour in _CHANNELS, "unsupported PNG colour type"
            assert interlace == 0, "interlaced PNG"
            bpp = _CHANNELS[colour]
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prior, bpp)
        prior = bytes(line)
        rows.append(prior)
    return Image(width, height, tuple(rows))
