"""tests/pngpixels.py reads back any image a PNG encoder could write with any row filter, and refuses what it cannot."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import pngpixels

COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = [abs(estimate - left), abs(estimate - up), abs(estimate - corner)]
    return (left, up, corner)[distances.index(min(distances))]


def filtered(row: list[int], above: list[int], kind: int, bpp: int) -> list[int]:
    """The row as an encoder writes it with filter ``kind`` (the PNG specification's forward filters)."""
    out = []
    for i, value in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        corner = above[i - bpp] if i >= bpp else 0
        predictor = [0, left, above[i], (left + above[i]) // 2, paeth(left, above[i], corner)][kind]
        out.append((value - predictor) % 256)
    return out


def encode(image: list[list[int]], width: int, channels: int, kinds: list[int]) -> bytes:
    data, above = bytearray(), [0] * (width * channels)
    for row, kind in zip(image, kinds, strict=True):
        data += bytes([kind, *filtered(row, above, kind, channels)])
        above = row
    header = struct.pack(">IIBBBBB", width, len(image), 8, COLOUR_TYPES[channels], 0, 0, 0)
    # Split the data over two IDAT chunks: a reader must join them.
    packed = zlib.compress(bytes(data))
    middle = len(packed) // 2
    return b"".join(
        [
            pngpixels.SIGNATURE,
            chunk(b"IHDR", header),
            chunk(b"IDAT", packed[:middle]),
            chunk(b"IDAT", packed[middle:]),
            chunk(b"IEND", b""),
        ]
    )


@st.composite
def images(draw: st.DrawFn) -> tuple[list[list[int]], int, int, list[int]]:
    width = draw(st.integers(1, 6))
    height = draw(st.integers(1, 5))
    channels = draw(st.sampled_from(sorted(COLOUR_TYPES)))
    samples = st.integers(0, 255)
    image = [draw(st.lists(samples, min_size=width * channels, max_size=width * channels)) for _ in range(height)]
    kinds = draw(st.lists(st.integers(0, 4), min_size=height, max_size=height))
    return image, width, channels, kinds


@given(images())
def test_every_filter_reads_back(case: tuple[list[list[int]], int, int, list[int]]) -> None:
    image, width, channels, kinds = case
    pixels = pngpixels.decode(encode(image, width, channels, kinds))
    assert pixels.shape == (len(image), width, channels)
    assert pixels.reshape(len(image), -1).tolist() == image


def test_a_flat_colour_reads_as_that_colour() -> None:
    red = [255, 0, 0] * 4
    pixels = pngpixels.decode(encode([red, red], 4, 3, [2, 1]))
    assert np.array_equal(pixels, np.tile(np.array([255, 0, 0], dtype=np.uint8), (2, 4, 1)))


@pytest.mark.parametrize(
    ("png", "message"),
    [
        (b"GIF89a", "not a PNG"),
        (pngpixels.SIGNATURE + chunk(b"IEND", b""), "without a header"),
        (
            pngpixels.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0)),
            "depth 16, colour type 2",
        ),
    ],
)
def test_what_it_cannot_read_is_refused(png: bytes, message: str) -> None:
    with pytest.raises(pngpixels.PngError, match=message):
        pngpixels.decode(png)


def test_an_unknown_filter_is_refused() -> None:
    data = zlib.compress(bytes([9, 1, 2, 3]))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    png = pngpixels.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    with pytest.raises(pngpixels.PngError, match="row filter 9"):
        pngpixels.decode(png)


def test_short_data_is_refused() -> None:
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    png = pngpixels.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 7)) + chunk(b"IEND", b"")
    with pytest.raises(pngpixels.PngError, match="7 bytes, expected 14"):
        pngpixels.decode(png)
