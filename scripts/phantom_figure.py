"""Draw docs/img/phantom_vs_reference.png: one row per stratum of the default pool beside three real NIH films.

The films are exactly those of the default pool (``plan_pool()`` with seed 0,
rendered as :func:`coldstart.data.phantom.generate_phantom` renders them):
the first ``--cols`` films of each stratum. ``--outline`` draws the
pneumothorax mask (red). Usage::

    python scripts/phantom_figure.py [--out docs/img/phantom_vs_reference.png] [--seed 0] [--cols 4] [--outline]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
#: the three real films: ../shared/data/reference-cxr beside the checkout (searched upwards, for worktrees)
_REF = ("shared", "data", "reference-cxr")
REFERENCE = next((p.joinpath(*_REF) for p in ROOT.parents if p.joinpath(*_REF).is_dir()), ROOT.parent.joinpath(*_REF))


def _rgb(img: np.ndarray, mask: np.ndarray | None = None) -> Image.Image:
    from scipy import ndimage as ndi

    a = np.clip(img * 255, 0, 255).astype(np.uint8)
    rgb = np.stack([a, a, a], -1)
    if mask is not None and mask.any():
        rgb[mask & ~ndi.binary_erosion(mask)] = (255, 40, 40)
    return Image.fromarray(rgb)


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "phantom_vs_reference.png"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--outline", action="store_true", help="outline the pneumothorax masks")
    args = ap.parse_args(argv)

    from coldstart.data.phantom import SUBGROUPS, load_views, plan_pool
    from coldstart.data.phantom.pool import render_planned

    views = load_views(progress=True)
    plan = plan_pool(seed=args.seed)
    s, gap = args.size, 6
    strata = [g for g in SUBGROUPS if g in set(plan.subgroup)]
    refs = sorted(REFERENCE.glob("*.png"))
    ref_h = (len(strata) * (s + gap) - gap * len(refs)) // max(len(refs), 1)
    W = gap + ref_h + 2 * gap + args.cols * (s + gap)
    H = gap + len(strata) * (s + gap)
    canvas = Image.new("RGB", (W, H), (32, 32, 32))
    for j, p in enumerate(refs):
        r = Image.open(p).convert("L").resize((ref_h, ref_h), Image.BOX).convert("RGB")
        ImageDraw.Draw(r).text((4, 3), f"REAL NIH {p.stem}", fill=(0, 255, 120))
        canvas.paste(r, (gap, gap + j * (ref_h + gap)))
    for row, g in enumerate(strata):
        for col, i in enumerate(np.flatnonzero(plan.subgroup.to_numpy() == g)[: args.cols]):
            r = plan.iloc[int(i)]
            im, _ = render_planned(r, int(i), args.seed, s, views)
            tile = _rgb(im.image, im.mask if args.outline else None)
            d = ImageDraw.Draw(tile)
            d.text((4, s - 26), g, fill=(255, 220, 0))
            extra = (f"{'PA' if r.protocol == 'PA erect' else 'AP'}" + (f" {r.side}" if "PTX" in g else "")
                     + (f" {','.join(r.devices)}" if r.devices else ""))
            d.text((4, s - 13), extra[:34], fill=(255, 220, 0))
            canvas.paste(tile, (gap + ref_h + 2 * gap + col * (s + gap), gap + row * (s + gap)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    print(out)
    return out


if __name__ == "__main__":
    main()
