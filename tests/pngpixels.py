"""Pixels of a PNG as a numpy array (height, width, channels): enough of the format to read Chromium's screenshots.

8-bit greyscale, RGB, grey+alpha and RGBA, not interlaced; every row filter. Chromium's screenshots taken with
`optimizeForSpeed` use the Up filter, which is one vectorised add per row; Average and Paeth run per pixel (slow, but
correct) for a PNG from elsewhere.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel

Pixels = npt.NDArray[np.uint8]


class PngError(ValueError):
    """Not a PNG this reader handles."""


def decode(png: bytes) -> Pixels:
    """The image's samples, shape (height, width, channels)."""
    width, height, channels, compressed = _chunks(png)
    raw = zlib.decompress(compressed)
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PngError(f"PNG data is {len(raw)} bytes, expected {height * (stride + 1)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        out[y] = _unfilter(int(rows[y, 0]), rows[y, 1:], previous, channels)
        previous = out[y]
    return out.reshape(height, width, channels)


def _chunks(png: bytes) -> tuple[int, int, int, bytes]:
    if not png.startswith(SIGNATURE):
        raise PngError("not a PNG (no signature)")
    position, header, data = len(SIGNATURE), b"", bytearray()
    while position + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        body = png[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise PngError("PNG without a header chunk")
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in CHANNELS or interlace:
        raise PngError(f"PNG of depth {depth}, colour type {colour}, interlace {interlace} is not handled")
    return width, height, CHANNELS[colour], bytes(data)


def _unfilter(kind: int, row: Pixels, above: Pixels, bpp: int) -> Pixels:
    # uint8 arithmetic wraps modulo 256, as the filters are defined.
    if kind == 0:
        return row
    if kind == 2:
        return row + above
    if kind == 1:
        pixels = row.reshape(-1, bpp)
        return np.cumsum(pixels, axis=0, dtype=np.uint8).reshape(-1)
    if kind in (3, 4):
        return _unfilter_sequential(kind, row, above, bpp)
    raise PngError(f"unknown PNG row filter {kind}")


def _unfilter_sequential(kind: int, row: Pixels, above: Pixels, bpp: int) -> Pixels:
    out = bytearray(len(row))
    for i, value in enumerate(row.tolist()):
        left = out[i - bpp] if i >= bpp else 0
        up = int(above[i])
        if kind == 3:
            predictor = (left + up) // 2
        else:
            upper_left = int(above[i - bpp]) if i >= bpp else 0
            predictor = _paeth(left, up, upper_left)
        out[i] = (value + predictor) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


def _paeth(left: int, up: int, upper_left: int) -> int:
    estimate = left + up - upper_left
    to_left, to_up, to_corner = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
    if to_left <= to_up and to_left <= to_corner:
        return left
    return up if to_up <= to_corner else upper_left
