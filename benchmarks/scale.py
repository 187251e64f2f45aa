"""Past one machine (docs/scale.md): selection at a million, Ray overhead per unit, Ray Data embedding.

    python -P benchmarks/scale.py select [--n 1000000] [--dim 512] [--budget 100] [--dtype float32|float16]
    python -P benchmarks/scale.py units  [--units 8]        # Ray executor vs local, per unit (first and second run)
    python -P benchmarks/scale.py embed  [--n 512]          # Ray Data vs local images/s, a torch model on CPU

``select`` writes a seeded Gaussian mixture (64 components) to a memory-mapped ``.npy`` file, then
runs each selector in a fresh process pinned to 2 cores and prints its wall time and peak RSS
(-P: this folder holds a select.py that would shadow the standard module). Peak RSS is
(``ru_maxrss`` of that process: the memory-mapped file counts only where pages are resident).
Targets (issue 17): each < 120 s and < 8 GB. The load average is printed beside every figure:
the machine is shared, so compare figures of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SELECTORS = ("kmeans", "typiclust", "probcover", "coreset")


def load() -> str:
    return "load %.1f/%.1f/%.1f" % os.getloadavg()


def make_mixture(path: Path, n: int, dim: int, dtype: str, seed: int = 0, k: int = 64) -> None:
    """A seeded mixture of ``k`` Gaussians written block by block into an ``.npy`` memory map."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, dim)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, dim))
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        out[s:s + m] = centres[rng.integers(k, size=m)] + rng.standard_normal((m, dim), dtype=np.float32)
    out.flush()
    del out


def one(name: str, path: str, budget: int) -> dict:
    """Run one selector on the memory-mapped pool (in this process) and report time and peak RSS."""
    from coldstart.select import select

    X = np.load(path, mmap_mode="r")
    t0 = time.perf_counter()
    s = select(name, X, budget, 0)
    sec = time.perf_counter() - t0
    assert len(s.indices) == budget and len(set(s.indices)) == budget
    shown = ("typicality_candidates", "graph_degree_cap", "graph_candidates", "graph_witnesses", "graph_index",
             "graph_rows_capped", "coverage_fraction", "delta")
    return dict(selector=name, seconds=round(sec, 1), peak_rss_gb=round(resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 2**20, 2), coverage_mean=round(float(s.info.get("coverage_mean", np.nan)), 3),
        **{k: s.info[k] for k in shown if k in s.info})


def bench_select(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="coldstart-scale-"))
    path = tmp / "pool.npy"
    t0 = time.perf_counter()
    make_mixture(path, args.n, args.dim, args.dtype)
    print(f"pool {args.n:,} x {args.dim} {args.dtype} written in {time.perf_counter() - t0:.0f} s ({load()})", flush=True)
    try:
        for name in args.selectors.split(","):
            cmd = [sys.executable, "-P", __file__, "one", name, str(path), str(args.budget)]
            env = dict(os.environ)
            if args.backend:
                env["COLDSTART_SELECT_BACKEND"] = args.backend
            before = load()
            try:
                p = subprocess.run(["taskset", "-c", "0,1", *cmd], capture_output=True, text=True, env=env,
                                   timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{name:<10} > {args.timeout} s (stopped)  [OVER TARGET]  ({before} -> {load()})", flush=True)
                continue
            if p.returncode:
                print(f"{name}: failed: {p.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            ok = "ok" if r["seconds"] < 120 and r["peak_rss_gb"] < 8 else "OVER TARGET"
            more = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                             if k not in ("selector", "seconds", "peak_rss_gb", "coverage_mean"))
            print(f"{name:<10} {r['seconds']:>7.1f} s  peak RSS {r['peak_rss_gb']:>5.2f} GB  coverage {r['coverage_mean']}"
                  f"  [{ok}]  ({before} -> {load()})  {more}", flush=True)
    finally:
        path.unlink(missing_ok=True)
        tmp.rmdir()


def small_dataset(root: Path, n: int, size: int = 64):
    """A seeded two-class dataset of ``n`` noisy images (positives carry a bright blob)."""
    from coldstart.data import DatasetBuilder

    os.environ["COLDSTART_DATA"] = str(root)
    rng = np.random.default_rng(0)
    b = DatasetBuilder("bench", classes=["normal", "finding"], source="benchmark", root=root)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = rng.normal(0.4, 0.05, (size, size))
        pos = rng.random() < 0.3
        if pos:
            cx, cy = rng.integers(size // 4, 3 * size // 4, 2)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < (size / 8) ** 2] += 0.4
        b.add(f"img{i:05d}", np.clip(img, 0, 1), label=int(pos))
    return b.finalize(seed=0)


def bench_units(args) -> None:
    """Per-unit wall time of the same probe run under the local executor (one process) and the Ray executor."""
    from coldstart.runs import RunConfig
    from coldstart.runs.runner import create_run, execute

    small_dataset(Path(tempfile.mkdtemp(prefix="coldstart-units-")), 400)
    seeds = list(range(max(1, args.units // 2)))
    out = {}
    for ex in ("local", "ray", "ray-warm"):
        cfg = RunConfig(dataset="bench", methods=["random"], budgets=[20, 40], seeds=seeds,
                        executor=ex.split("-")[0], workers=1)
        cfg.check()
        d = create_run(cfg)
        if ex == "ray":
            from coldstart.ray_cluster import connect

            t = time.perf_counter()
            connect(None, num_cpus=2)
            print(f"ray start: {time.perf_counter() - t:.1f} s ({load()})")
        t = time.perf_counter()
        execute(d)
        out[ex] = (time.perf_counter() - t) / (2 * len(seeds))
        print(f"{ex:<6} {out[ex] * 1000:8.0f} ms per unit over {2 * len(seeds)} units  ({load()})", flush=True)
    print(f"Ray overhead per unit: {(out['ray'] - out['local']) * 1000:.0f} ms in a first run (worker processes "
          f"start and load the run), {(out['ray-warm'] - out['local']) * 1000:.0f} ms once workers are up")


def bench_embed(args) -> None:
    """Images per second of a CPU torch model (random ResNet-18 at 224 px) locally and through Ray Data."""
    import shutil

    from coldstart.embed.cache import _compute_chunks
    from coldstart.embed.ray_embed import ray_fill
    from coldstart.embed.torchrun import TorchEmbedder

    class Resnet(TorchEmbedder):
        name, key, dim, load_size, default_batch_size = "bench-resnet18", "bench-resnet18", 512, 224, 32

        def build_model(self):
            import torch
            import torchvision

            torch.manual_seed(0)
            m = torchvision.models.resnet18(weights=None)
            m.fc = torch.nn.Identity()
            return m

        def preprocess(self, img):
            return np.repeat(img[None], 3, axis=0)

        def forward(self, model, x):
            return model(x)

    root = Path(tempfile.mkdtemp(prefix="coldstart-embed-"))
    ds = small_dataset(root, args.n)
    e = Resnet()
    rates, outs = {}, {}
    for how in ("local", "ray"):
        parts, npy = root / f"parts-{how}", root / f"{how}.npy"
        fill = None
        if how == "ray":
            from coldstart.ray_cluster import connect

            connect(None, num_cpus=2)
            fill = ray_fill(batch_size=32)
        t = time.perf_counter()
        _compute_chunks(ds, e, e.key, parts, npy, "cpu", 32, None, 128, fill)
        rates[how] = len(ds) / (time.perf_counter() - t)
        outs[how] = np.load(npy)
        print(f"{how:<6} {rates[how]:7.1f} images/s  ({load()})", flush=True)
        shutil.rmtree(parts, ignore_errors=True)
    print(f"Ray Data / local throughput: {rates['ray'] / rates['local']:.2f} (target >= 0.9); "
          f"max |difference| {float(np.abs(outs['ray'] - outs['local']).max()):.2e}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "one":
        print(json.dumps(one(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("select")
    s.add_argument("--n", type=int, default=1_000_000)
    s.add_argument("--dim", type=int, default=512)
    s.add_argument("--budget", type=int, default=100)
    s.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    s.add_argument("--selectors", default=",".join(SELECTORS))
    s.add_argument("--backend", choices=["auto", "numpy", "faiss"], default=None)
    s.add_argument("--timeout", type=int, default=1800)
    u = sub.add_parser("units")
    u.add_argument("--units", type=int, default=8)
    e = sub.add_parser("embed")
    e.add_argument("--n", type=int, default=512)
    a = ap.parse_args()
    {"select": bench_select, "units": bench_units, "embed": bench_embed}[a.what](a)


if __name__ == "__main__":
    main()
