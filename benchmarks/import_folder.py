"""Benchmark: import an 800-image folder (256-1024 px PNGs, 24 % with masks) and print images/s.

Usage::

    .venv/bin/python benchmarks/import_folder.py [--n 800] [--min-size 256] [--max-size 1024] [--seed 0]

The images are generated in a temp folder (smooth anatomy-like gradients plus
noise, so PNG compression is realistic), imported with
:func:`coldstart.data.importers.import_folder` into a temp data root, and
everything is deleted afterwards. Only the import is timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_folder(dest: Path, n: int, min_size: int, max_size: int, seed: int, pos_rate: float = 0.24):
    rng = np.random.default_rng(seed)
    masks = dest / "masks"
    masks.mkdir(parents=True)
    total_px = 0
    for i in range(n):
        s = int(rng.integers(min_size, max_size + 1))
        h, w = s, int(s * rng.uniform(0.8, 1.0))
        yy, xx = np.mgrid[:h, :w] / s
        img = 0.5 + 0.3 * np.sin(3 * xx + rng.uniform(0, 6)) * np.cos(2 * yy) + rng.normal(0, 0.04, (h, w))
        pos = rng.random() < pos_rate
        cls = "pneumothorax" if pos else "normal"
        (dest / "images" / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(img * 255, 0, 255).astype(np.uint8)).save(dest / "images" / cls / f"img{i:04d}.png")
        if pos:
            m = ((xx - 0.3) ** 2 + (yy - 0.3) ** 2) < 0.02
            Image.fromarray(m.astype(np.uint8) * 255).save(masks / f"img{i:04d}.png")
        total_px += h * w
    return dest / "images", masks, total_px


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--min-size", type=int, default=256)
    ap.add_argument("--max-size", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from coldstart.data.importers import import_folder

    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-import-"))
    try:
        t0 = time.time()
        src, masks, px = make_folder(tmp / "src", args.n, args.min_size, args.max_size, args.seed)
        mb = sum(f.stat().st_size for f in (tmp / "src").rglob("*.png")) / 1e6
        print(f"made {args.n} PNGs ({args.min_size}-{args.max_size} px, {px / args.n / 1e6:.2f} Mpx avg, "
              f"{mb:.0f} MB) in {time.time() - t0:.1f} s")
        t0, c0 = time.time(), time.process_time()
        ds = import_folder(src, "bench", masks=masks, root=tmp / "data", seed=args.seed)
        dt, cpu = time.time() - t0, time.process_time() - c0
        assert len(ds) == args.n, (len(ds), ds.report())
        print(f"imported {len(ds)} images ({int(ds.manifest['mask'].notna().sum())} masks) in {dt:.2f} s: "
              f"{len(ds) / dt:.1f} images/s, {px / dt / 1e6:.1f} Mpx/s; CPU time {cpu:.2f} s = "
              f"{len(ds) / cpu:.1f} images per CPU-second (single process; cpu count {os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.1f})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
