"""Small real images for the geometry cases (ANN-055), written by hand so the suite needs no
imaging library: a truecolor PNG (zlib for its IDAT) and a baseline grayscale JPEG, optionally
with an EXIF orientation in an APP1 segment. Every pixel of the JPEG is mid-gray, so each 8x8
block is one DC code and one end-of-block code, with one-symbol Huffman tables."""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A `width` x `height` PNG of one colour (8-bit RGB, no filter)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    scanlines = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(scanlines))
        + _png_chunk(b"IEND", b"")
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _exif(orientation: int) -> bytes:
    """An APP1 Exif payload: a big-endian TIFF header and IFD0 with the Orientation tag."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, one value, padded
    ifd = struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    """A `width` x `height` mid-gray baseline JPEG; with `orientation`, an EXIF APP1 segment
    stating it."""
    parts = [b"\xff\xd8"]
    if orientation is not None:
        parts.append(_segment(0xE1, _exif(orientation)))
    parts += [
        _segment(0xDB, b"\x00" + b"\x01" * 64),  # quantization table 0, all ones
        _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
        # DC table 0 and AC table 0, each one symbol (DC category 0; AC end-of-block) coded "0".
        _segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00"),
        _segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00"),
        _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
    ]
    blocks = -(-width // 8) * -(-height // 8)
    bits = 2 * blocks  # "0" for the DC difference, "0" for end-of-block
    data = bytearray(b"\x00" * (bits // 8))
    if bits % 8:
        data.append((1 << (8 - bits % 8)) - 1)  # pad the last byte with one-bits
    parts += [bytes(data), b"\xff\xd9"]
    return b"".join(parts)
