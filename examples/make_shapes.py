"""Write a small image folder: four classes of noisy shapes (circle, square, triangle, cross), PNG files.

    python examples/make_shapes.py shapes            # shapes/circle/000.png, … (100 per class, 16×16)
    python examples/make_shapes.py shapes --per-class 200 --size 24

Drawn with a seeded generator (the same folder every time), in random positions, sizes and colours, with noise.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle", "cross")


def draw(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    scale = 4  # drawn large, then downsampled (smooth edges)
    side = size * scale
    image = Image.new("RGB", (side, side), tuple(int(v) for v in rng.integers(0, 90, 3)))
    pen = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in rng.integers(140, 256, 3))
    radius = rng.uniform(0.22, 0.38) * side
    cx, cy = rng.uniform(radius, side - radius, 2)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if kind == "circle":
        pen.ellipse(box, fill=colour)
    elif kind == "square":
        pen.rectangle(box, fill=colour)
    elif kind == "triangle":
        pen.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=colour)
    else:
        bar = radius / 3
        pen.rectangle((cx - radius, cy - bar, cx + radius, cy + bar), fill=colour)
        pen.rectangle((cx - bar, cy - radius, cx + bar, cy + radius), fill=colour)
    small = np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float32)
    noisy = np.clip(small + rng.normal(0, 18, small.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(noisy)


def make_shapes(folder: str | Path, per_class: int = 100, size: int = 16, seed: int = 0) -> Path:
    """Write ``per_class`` PNG images of each class into ``folder/<class>/``; returns the folder."""
    root = Path(folder)
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(kind, size, rng).save(root / kind / f"{i:03d}.png")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()
    print(make_shapes(args.folder, args.per_class, args.size))
