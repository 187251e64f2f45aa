"""The cost of the paper's Hausdorff distance (``hd_paper``, rows of the 224 x 224 masks) beside the surface
HD (``hd_surface``, distance transforms) on the same masks: what a segmentation run adds per test image.

Random ellipse masks at 224 px (prediction = the target shifted by a few pixels), N pairs; each metric is
timed over the same pairs in one run, and the load average is printed beside the figures.

    python -P benchmarks/hd_paper.py --n 200
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from coldstart import metrics as M


def masks(n: int, size: int = 224, seed: int = 0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        cy, cx = rng.integers(40, size - 40, 2)
        ry, rx = rng.integers(8, 35, 2)
        t = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        dy, dx = rng.integers(-6, 7, 2)
        out.append((np.roll(t, (dy, dx), (0, 1)), t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    pairs = masks(a.n)
    times = {}
    for name, fn in (("hd_paper", M.hd_paper), ("hd_surface", M.hausdorff)):
        t0 = time.perf_counter()
        vals = [fn(p, t) for p, t in pairs]
        times[name] = (time.perf_counter() - t0) / a.n
        print(f"{name:11s} {1e3 * times[name]:7.2f} ms per 224 px image pair; values {np.min(vals):.2f}..{np.max(vals):.2f}")
    print(f"ratio hd_paper / hd_surface: {times['hd_paper'] / times['hd_surface']:.2f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
