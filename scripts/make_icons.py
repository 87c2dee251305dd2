"""Write the app icons (plain PNG, no imaging library needed): a white leaf-like
disc on the brand colour. Run: python scripts/make_icons.py"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

BRAND = (0x1F, 0x5F, 0x5B)
WHITE = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parent.parent / "webapp" / "static" / "icons"


def png(size: int, pixel) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y, size)) for x in range(size))
                    for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def leaf(scale: float):
    def pixel(x: int, y: int, size: int):
        # Two overlapping discs make a leaf; `scale` keeps it in the safe zone.
        cx, cy, r = size / 2, size / 2, size * 0.34 * scale
        d = r * 0.55
        in_a = (x - cx + d) ** 2 + (y - cy - d) ** 2 <= r * r
        in_b = (x - cx - d) ** 2 + (y - cy + d) ** 2 <= r * r
        return WHITE if in_a and in_b else BRAND
    return pixel


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(png(192, leaf(1.0)))
    (OUT / "icon-512.png").write_bytes(png(512, leaf(1.0)))
    (OUT / "maskable-512.png").write_bytes(png(512, leaf(0.75)))
