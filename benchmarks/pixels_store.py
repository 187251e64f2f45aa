"""Raw pixels at 224 px: disk size of the uint8 cache and the peak memory of `coldstart embed --out`.

Builds a synthetic pool of N 256-px images (random 8-bit noise: the worst case for nothing),
then runs ``coldstart embed POOL -e pixels-224 --out X.npy`` in a child process and reports its
peak resident memory against the size of the embedding matrix as float32. The embedding is
computed in chunks, assembled through a memory map and written out block by block, so the
peak should stay near the chunk size, not grow with N.

    python benchmarks/pixels_store.py --n 1500
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from coldstart.data import DatasetBuilder

    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-pixels-"))
    root = tmp / "data"
    t = time.time()
    rng = np.random.default_rng(0)
    b = DatasetBuilder("pool", classes=["normal", "finding"], source="benchmark noise", root=root)
    for i in range(a.n):
        b.add(f"img{i:06d}", rng.integers(0, 256, (a.size, a.size), dtype=np.uint8), label=i % 2)
    b.finalize(seed=0)
    print(f"pool: {a.n} images at {a.size} px built in {time.time() - t:.0f} s")

    env = dict(os.environ, COLDSTART_DATA=str(root), PYTHONPATH=str(ROOT))
    t = time.time()
    subprocess.run([sys.executable, "-c", "from coldstart.cli import main; raise SystemExit(main())",
                    "embed", "pool", "-e", "pixels-224", "--out", str(tmp / "x.npy")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.time() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    cache = next((root / "pool" / "cache" / "emb").glob("pixels-*-u8-v2.npy"))
    f32 = a.n * 224 * 224 * 4
    print(f"embed + --out: {seconds:.0f} s; uint8 cache {cache.stat().st_size / 1e6:.0f} MB "
          f"(float32 would be {f32 / 1e6:.0f} MB); peak RSS of the command {peak / 1e6:.0f} MB")
    print(f"per 100,000 images at 224 px: {100_000 * 224 * 224 / 1e9:.1f} GB on disk as uint8 "
          f"({100_000 * 224 * 224 * 4 / 1e9:.1f} GB as float32)")
    x = np.load(tmp / "x.npy", mmap_mode="r")
    assert x.shape == (a.n, 224 * 224) and x.dtype == np.float32
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
