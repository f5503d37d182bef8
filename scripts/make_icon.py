"""Draw the app icon: 8 Gaussians on a ring (blue, the real data) and a generator's samples
sliding onto them (orange), on a dark rounded square. Writes resources/icon.png (512 px),
icon.ico (Windows, 16-256 px) and icon.icns (macOS).

    python scripts/make_icon.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 1024  # drawn large, then scaled down smoothly
OUT = Path(__file__).resolve().parent.parent / "resources"
BLUE, ORANGE, BACK = (66, 133, 244), (244, 140, 40), (28, 30, 38)


def draw() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((40, 40, SIZE - 40, SIZE - 40), radius=200, fill=BACK)
    centre, ring = SIZE / 2, SIZE * 0.3
    for k in range(8):  # the real modes
        angle = 2 * math.pi * k / 8
        x, y = centre + ring * math.cos(angle), centre + ring * math.sin(angle)
        pen.ellipse((x - 62, y - 62, x + 62, y + 62), fill=BLUE)
    for k in range(24):  # generated samples spiralling out towards the modes
        t = k / 23
        angle = 2 * math.pi * (t * 1.5) + 0.2
        radius = ring * (0.15 + 0.85 * t)
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        r = 18 + 10 * t
        pen.ellipse((x - r, y - r, x + r, y + r), fill=ORANGE)
    return image


def main() -> None:
    OUT.mkdir(exist_ok=True)
    icon = draw()
    icon.resize((512, 512), Image.LANCZOS).save(OUT / "icon.png")
    icon.save(OUT / "icon.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    icon.resize((512, 512), Image.LANCZOS).save(OUT / "icon.icns")
    print(f"wrote {OUT / 'icon.png'}, icon.ico, icon.icns")


if __name__ == "__main__":
    main()
