"""Draw docs/img/phantom_vs_reference.png: the three real reference films beside a grid of phantom films.

Positives carry their pneumothorax mask outline (red). Usage::

    python scripts/phantom_figure.py [--out docs/img/phantom_vs_reference.png] [--seed 0] [--ood]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "data" / "reference-cxr"


def _rgb(img: np.ndarray, mask: np.ndarray | None = None) -> Image.Image:
    from scipy import ndimage as ndi

    a = np.clip(img * 255, 0, 255).astype(np.uint8)
    rgb = np.stack([a, a, a], -1)
    if mask is not None and mask.any():
        edge = mask & ~ndi.binary_erosion(mask)
        rgb[edge] = (255, 40, 40)
    return Image.fromarray(rgb)


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "phantom_vs_reference.png"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ood", action="store_true", help="add a row of out-of-distribution and ambiguous films")
    args = ap.parse_args(argv)

    from coldstart.data.phantom import load_views, render_phantom

    views = load_views(progress=True)
    s = args.size
    kinds = ["normal", "pneumothorax", "normal", "pneumothorax", "normal", "pneumothorax",
             "pneumothorax", "normal", "pneumothorax", "normal", "pneumothorax", "pneumothorax"]
    if args.ood:
        kinds += ["small pneumothorax", "small pneumothorax", "lateral", "abdomen", "inverted", "corrupted"]
    tiles = []
    for i, k in enumerate(kinds):
        im = render_phantom(k, seed=[args.seed, i], size=s, views=views)
        tile = _rgb(im.image, im.mask)
        ImageDraw.Draw(tile).text((4, 3), k if k != "pneumothorax" else f"PTX {im.meta['side']}", fill=(255, 220, 0))
        tiles.append(tile)
    refs = []
    for p in sorted(REFERENCE.glob("*.png")):
        r = Image.open(p).convert("L").resize((s, s), Image.BOX).convert("RGB")
        ImageDraw.Draw(r).text((4, 3), f"REAL {p.stem}", fill=(0, 255, 120))
        refs.append(r)
    cols = 4
    rows = max(len(refs), int(np.ceil(len(tiles) / cols)))
    gap = 6
    W = (cols + 1) * s + (cols + 1) * gap + gap
    H = rows * s + (rows + 1) * gap
    canvas = Image.new("RGB", (W, H), (32, 32, 32))
    for j, r in enumerate(refs):
        canvas.paste(r, (gap, gap + j * (s + gap)))
    for i, t in enumerate(tiles):
        rr, cc = divmod(i, cols)
        canvas.paste(t, (2 * gap + s + gap + cc * (s + gap), gap + rr * (s + gap)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    print(out)
    return out


if __name__ == "__main__":
    main()
