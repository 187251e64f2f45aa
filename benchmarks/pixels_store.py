"""Raw pixels at 224 px: disk size of the uint8 cache and the peak memory of `coldstart embed --out`.

Builds a synthetic pool of N 256-px images (random 8-bit noise: the worst case for nothing),
then runs ``coldstart embed POOL -e pixels --out X.npy`` in a child process and reports its
peak resident memory against the size of the embedding matrix as float32. The embedding is
computed in chunks, assembled through a memory map and written out block by block, so the
peak should stay near the chunk size, not grow with N.

    python benchmarks/pixels_store.py --n 1500
"""

from __future__ import annotations

import os
import sys

# benchmarks/select.py would shadow the standard library's `select` (used by subprocess)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# the CLI in a child, sampling its anonymous (heap) memory: mapped file pages are not counted
CHILD = """
import sys, threading, time
peak = [0]
def watch():
    while True:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        time.sleep(0.01)
threading.Thread(target=watch, daemon=True).start()
from coldstart.cli import main
rc = main(sys.argv[1:])
time.sleep(0.05)
print("PEAK_ANON_KB", peak[0])
raise SystemExit(rc)
"""


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
    out = subprocess.run([sys.executable, "-c", CHILD, "embed", "pool", "-e", "pixels", "--out",
                          str(tmp / "x.npy")], env=env, check=True, capture_output=True, text=True).stdout
    seconds = time.time() - t
    anon = int(out.split("PEAK_ANON_KB")[1].split()[0]) * 1024
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    cache = next((root / "pool" / "cache" / "emb").glob("pixels-*-u8-v2.npy"))
    f32 = a.n * 224 * 224 * 4
    print(f"embed + --out: {seconds:.0f} s; uint8 cache {cache.stat().st_size / 1e6:.0f} MB (float32 would be "
          f"{f32 / 1e6:.0f} MB); peak anonymous memory {anon / 1e6:.0f} MB; peak RSS {peak / 1e6:.0f} MB "
          "(RSS includes the memory-mapped files' pages, which the kernel can drop)")
    print(f"per 100,000 images at 224 px: {100_000 * 224 * 224 / 1e9:.1f} GB on disk as uint8 "
          f"({100_000 * 224 * 224 * 4 / 1e9:.1f} GB as float32)")
    x = np.load(tmp / "x.npy", mmap_mode="r")
    assert x.shape == (a.n, 224 * 224) and x.dtype == np.float32
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
