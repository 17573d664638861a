"""Draw the app's icons into assets/: a violet crescent and a neon star on a dark tile.

    python -m scripts.build_icons

Writes ``favicon.svg`` and, from the same shapes (anti-aliased from their exact distance
fields, standard library only), ``favicon.ico`` (16, 32 and 48 px PNGs),
``apple-touch-icon.png`` (180 px) and ``icon-192.png`` / ``icon-512.png`` for the web-app
manifest. The output is deterministic: run it again after changing a shape or a colour.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# Shapes on a 100 x 100 canvas: (cx, cy, r) circles and the tile's corner radius.
TILE = "#140c24"  # a touch lighter than the page (--nc-bg) so the tile shows on dark tabs
MOON = "#c77dff"  # --nc-accent
STAR = "#3df5c2"  # --nc-neon
TILE_RADIUS = 22.0
MOON_DISC = (47.0, 50.0, 30.0)
MOON_BITE = (60.0, 40.0, 26.0)
STAR_DOT = (76.0, 30.0, 5.0)

SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
<defs><mask id="bite"><rect width="100" height="100" fill="#fff"/>\
<circle cx="{MOON_BITE[0]:g}" cy="{MOON_BITE[1]:g}" r="{MOON_BITE[2]:g}" fill="#000"/></mask></defs>
<rect width="100" height="100" rx="{TILE_RADIUS:g}" fill="{TILE}"/>
<circle cx="{MOON_DISC[0]:g}" cy="{MOON_DISC[1]:g}" r="{MOON_DISC[2]:g}" fill="{MOON}" \
mask="url(#bite)"/>
<circle cx="{STAR_DOT[0]:g}" cy="{STAR_DOT[1]:g}" r="{STAR_DOT[2]:g}" fill="{STAR}"/>
</svg>
"""


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _coverage(signed_distance: float) -> float:
    """How much of a one-pixel-wide pixel lies inside a shape at this signed distance."""
    return min(1.0, max(0.0, 0.5 - signed_distance))


def _circle(x: float, y: float, circle: tuple[float, float, float], scale: float) -> float:
    cx, cy, r = circle
    return _coverage(math.hypot(x - cx * scale, y - cy * scale) - r * scale)


def _tile(x: float, y: float, size: float, radius: float) -> float:
    half = size / 2
    qx, qy = abs(x - half) - (half - radius), abs(y - half) - (half - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return _coverage(outside + min(max(qx, qy), 0.0) - radius)


def render(size: int) -> bytes:
    """The icon as straight-alpha RGBA rows, ``size`` pixels square."""
    scale = size / 100
    tile, moon, star = _rgb(TILE), _rgb(MOON), _rgb(STAR)
    out = bytearray()
    for py in range(size):
        for px in range(size):
            x, y = px + 0.5, py + 0.5
            alpha = _tile(x, y, size, TILE_RADIUS * scale)
            colour = tile
            layers = (
                (moon, _circle(x, y, MOON_DISC, scale) * (1 - _circle(x, y, MOON_BITE, scale))),
                (star, _circle(x, y, STAR_DOT, scale)),
            )
            for layer, cover in layers:
                cover *= alpha  # nothing outside the tile
                if cover:
                    colour = tuple(
                        c + (lc - c) * cover for c, lc in zip(colour, layer, strict=True)
                    )
            out += bytes(round(c * 255) for c in colour) + bytes([round(alpha * 255)])
    return bytes(out)


def png(size: int) -> bytes:
    """A PNG file (8-bit RGBA) of the icon."""
    raw = render(size)
    stride = size * 4
    rows = b"".join(b"\x00" + raw[i * stride : (i + 1) * stride] for i in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def ico(sizes: tuple[int, ...]) -> bytes:
    """An ICO file holding one PNG per size (every browser since IE 11 reads these)."""
    images = [png(s) for s in sizes]
    offset = 6 + 16 * len(images)
    entries = b""
    for size, data in zip(sizes, images, strict=True):
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return struct.pack("<HHH", 0, 1, len(images)) + entries + b"".join(images)


def main() -> None:
    (ASSETS / "favicon.svg").write_text(SVG)
    (ASSETS / "favicon.ico").write_bytes(ico((16, 32, 48)))
    (ASSETS / "apple-touch-icon.png").write_bytes(png(180))
    for size in (192, 512):
        (ASSETS / f"icon-{size}.png").write_bytes(png(size))
    print("icons written to", ASSETS)


if __name__ == "__main__":
    main()
