"""Time the default phantom pool (800 images at 256 px) after the one-time CT fetch.

Usage: ``python benchmarks/phantom.py [--n 800] [--size 256] [--threads 2]``. Prints the seconds
for the one-time steps (CT fetch + preprocessing + projection bank, cached after the first run)
and for the generation itself (wall and CPU seconds; the wall time depends on what else runs on the
machine, so the 1-minute load average is printed too), which is what the issue's "< 60 s" refers to.
Rendering runs in one process, so on an idle 2-core machine the wall time is close to the CPU time.
Run it as ``python -P benchmarks/phantom.py`` (``-P``: benchmarks/select.py must not shadow the stdlib).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    from coldstart.data.phantom import generate_phantom, load_views

    t0 = time.perf_counter()
    load_views(progress=True)
    t_once = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as root:
        t0, c0 = time.perf_counter(), time.process_time()
        ds = generate_phantom(n=args.n, size=args.size, seed=args.seed, root=root, progress=True)
        t_gen, c_gen = time.perf_counter() - t0, time.process_time() - c0
        m = ds.manifest
        out = {"n": len(ds), "size": args.size, "positives": int((m.label == 1).sum()),
               "one_time_or_cached_s": round(t_once, 2), "generate_s": round(t_gen, 2),
               "generate_cpu_s": round(c_gen, 2), "load_avg_1min": round(os.getloadavg()[0], 1),
               "ms_per_image": round(1000 * t_gen / len(ds), 1)}
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
