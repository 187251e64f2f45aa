"""Past one machine (docs/scale.md): selection at a million, Ray overhead per unit, Ray Data embedding.

    python -P benchmarks/scale.py select [--n 1000000] [--dim 512] [--budget 100] [--dtype float32|float16]
    python -P benchmarks/scale.py compare [--pool 1000000] [--n 100000]  # faiss paths' coverage vs the exact method
    python -P benchmarks/scale.py units  [--units 8]        # Ray executor vs local, per unit (first and second run)
    python -P benchmarks/scale.py embed  [--n 256] [--repeats 2] [--stats]  # Ray Data vs local images/s (CPU torch)

``select`` writes a seeded Gaussian mixture (64 components) to a memory-mapped ``.npy`` file, then
runs each selector in a fresh process pinned to 2 cores and prints its wall time and peak RSS
(-P: this folder holds a select.py that would shadow the standard module). Peak RSS is
(``ru_maxrss`` of that process: the memory-mapped file counts only where pages are resident); the CPU
seconds of that process are printed beside the wall time (less sensitive to the other jobs' load).
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
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru.ru_utime + ru.ru_stime
    t0 = time.perf_counter()
    s = select(name, X, budget, 0)
    sec = time.perf_counter() - t0
    assert len(s.indices) == budget and len(set(s.indices)) == budget
    shown = ("typicality_candidates", "graph_degree_cap", "graph_candidates", "graph_witnesses", "graph_index",
             "graph_rows_capped", "coverage_fraction", "delta")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return dict(selector=name, seconds=round(sec, 1), peak_rss_gb=round(ru.ru_maxrss / 2**20, 2),
                cpu_s=round(ru.ru_utime + ru.ru_stime - cpu0, 1), coverage_mean=round(float(s.info.get("coverage_mean", np.nan)), 3),
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
                             if k not in ("selector", "seconds", "cpu_s", "peak_rss_gb", "coverage_mean"))
            print(f"{name:<10} {r['seconds']:>7.1f} s ({r['cpu_s']:.0f} s CPU)  peak RSS {r['peak_rss_gb']:>5.2f} GB  "
                  f"coverage {r['coverage_mean']}"
                  f"  [{ok}]  ({before} -> {load()})  {more}", flush=True)
    finally:
        path.unlink(missing_ok=True)
        tmp.rmdir()


def _scaled(**values):
    """Set faiss_backend's sample sizes (None: the defaults); returns the previous values."""
    from coldstart.select import faiss_backend as fb

    old = {k: getattr(fb, k) for k in values}
    for k, v in values.items():
        if v is not None:
            setattr(fb, k, v)
    return old


def bench_compare(args) -> None:
    """Coverage of the faiss (large-pool) paths against the exact numpy method on a seeded subsample."""
    from coldstart.select import faiss_backend as fb
    from coldstart.select import select
    from coldstart.select._space import reduce_dim

    tmp = Path(tempfile.mkdtemp(prefix="coldstart-compare-"))
    path = tmp / "pool.npy"
    make_mixture(path, args.pool, args.dim, "float32")
    rows = np.sort(np.random.default_rng(1).choice(args.pool, args.n, replace=False))
    X = np.ascontiguousarray(np.load(path, mmap_mode="r")[rows])
    path.unlink()
    tmp.rmdir()
    rate = args.n / args.pool  # the "1M rates" variant shrinks every sample as a 1M pool would see it
    variants = {"default": {}, "1M-rates": dict(
        TYPICALITY_CANDIDATES=max(2, round(fb.TYPICALITY_CANDIDATES * rate)),
        GRAPH_CANDIDATES=max(100, round(fb.GRAPH_CANDIDATES * rate)),
        GRAPH_MIN_WITNESSES=max(100, round(fb.GRAPH_MIN_WITNESSES * rate)))}
    print(f"{args.n:,} x {args.dim} seeded subsample of a {args.pool:,}-image mixture; budget {args.budget}; "
          f"faiss variants: {variants} ({load()})", flush=True)
    budgets = [b for b in (5, 10, 20, 40, 64, 100, 200) if b < args.budget] + [args.budget]

    def run(backend, name, **kw):
        os.environ["COLDSTART_SELECT_BACKEND"] = backend
        t = time.perf_counter()
        s = select(name, X, args.budget, 0, **kw)
        return s, time.perf_counter() - t

    os.environ["COLDSTART_SELECT_BACKEND"] = "faiss"
    # TypiClust: mean distance from every image to its nearest pick (the Selection's coverage_mean), per prefix
    exact, sec = run("numpy", "typiclust")
    print(f"typiclust exact (numpy)      {sec:6.1f} s  coverage_mean {exact.info['coverage_mean']:.3f}  ({load()})",
          flush=True)
    for v, kw in {"all-members": dict(TYPICALITY_CANDIDATES=10**9), **variants}.items():  # all-members: KMeans only
        old = _scaled(**kw)
        s, sec = run("faiss", "typiclust")
        _scaled(**old)
        rel = s.info["coverage_mean"] / exact.info["coverage_mean"] - 1
        print(f"typiclust faiss {v:<12} {sec:6.1f} s  coverage_mean {s.info['coverage_mean']:.3f} ({rel:+.2%} vs exact;"
              f" lower is better)  typicality_candidates={s.info.get('typicality_candidates')}  ({load()})", flush=True)
    # ProbCover: share of the pool within delta of a pick, exactly, per prefix, at the exact run's delta
    Z = reduce_dim(X, 64, 0)  # the selection space of probcover's defaults (dim=64, no normalisation)
    sample = Z[np.random.default_rng(2).choice(len(Z), 200, replace=False)]
    d_small = float(np.quantile(np.sqrt(((sample[:, None] - Z[None, :20000]) ** 2).sum(-1)), 0.005))
    os.environ["COLDSTART_SELECT_BACKEND"] = "faiss"

    def curve(picks, delta):
        return [float((fb.nearest(Z, Z[picks[:b]])[1] <= delta).mean()) for b in budgets]

    for label, delta in (("auto", None), ("0.5%-ball", d_small)):
        exact, sec = run("numpy", "probcover", delta=delta)
        d = exact.info["delta"]
        ce = curve(exact.indices, d)
        print(f"probcover exact delta {label} = {d:.3f}  {sec:6.1f} s  coverage_fraction at {budgets}: "
              f"{[round(c, 4) for c in ce]}  ({load()})", flush=True)
        for v, kw in variants.items():
            old = _scaled(**kw)
            s, sec = run("faiss", "probcover", delta=d)
            _scaled(**old)
            ca = curve(s.indices, d)
            worst = max(ce[i] - ca[i] for i in range(len(budgets)))
            print(f"probcover faiss {v:<12} {sec:6.1f} s  coverage_fraction {[round(c, 4) for c in ca]}; "
                  f"largest shortfall vs exact {worst:+.4f} ({'within' if worst <= 0.01 else 'OVER'} 1%)  "
                  f"cap={s.info.get('graph_degree_cap')} candidates={s.info.get('graph_candidates')} "
                  f"witnesses={s.info.get('graph_witnesses')}  ({load()})", flush=True)


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

    from coldstart.ray_cluster import connect

    root = Path(tempfile.mkdtemp(prefix="coldstart-embed-"))
    ds = small_dataset(root, args.n)
    t = time.perf_counter()
    connect(None, num_cpus=2)
    print(f"ray start: {time.perf_counter() - t:.1f} s ({load()})", flush=True)
    runs: dict[str, list] = {"local": [], "ray": []}
    outs = {}
    for rep in range(args.repeats):  # alternating (local, ray), (ray, local), ...: load drifts hit both alike
        for how in ("local", "ray") if rep % 2 == 0 else ("ray", "local"):
            e = Resnet()  # a fresh object each run: both pay the model build
            parts, npy = root / f"parts-{how}", root / f"{how}.npy"
            info: dict = {}
            fill = None
            if how == "ray":
                ray_fill_ = ray_fill(batch_size=32)

                def fill(*a, _f=ray_fill_, **k):
                    info.update(_f(*a, **k) or {})
            before = load()
            t = time.perf_counter()
            _compute_chunks(ds, e, e.key, parts, npy, "cpu", 32, None, 128, fill)
            sec = time.perf_counter() - t
            outs[how] = np.load(npy)
            first, rows = info.get("first_batch_s"), info.get("first_batch_rows", 0)
            runs[how].append((len(ds) / sec, first, sec))
            extra = (f"; first batch of {rows} after {first:.1f} s, then {(len(ds) - rows) / (sec - first):.2f} "
                     f"images/s" if first and rows < len(ds) and sec > first else
                     f"; first batch of {rows} after {first:.1f} s" if first else "")
            print(f"{how:<6} {len(ds) / sec:7.2f} images/s ({sec:.0f} s{extra})  ({before} -> {load()})", flush=True)
            if how == "ray" and rep == 0 and args.stats:
                print(info.get("stats", ""), flush=True)
            shutil.rmtree(parts, ignore_errors=True)
            npy.unlink(missing_ok=True)
    best = {h: max(r[0] for r in v) for h, v in runs.items()}
    med = {h: float(np.median([r[0] for r in v])) for h, v in runs.items()}
    print(f"Ray Data / local throughput: best {best['ray'] / best['local']:.2f}, median {med['ray'] / med['local']:.2f}"
          f" (target >= 0.9) over {args.repeats} alternating pairs; "
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
    c = sub.add_parser("compare")
    c.add_argument("--pool", type=int, default=1_000_000)
    c.add_argument("--n", type=int, default=100_000)
    c.add_argument("--dim", type=int, default=512)
    c.add_argument("--budget", type=int, default=100)
    u = sub.add_parser("units")
    u.add_argument("--units", type=int, default=8)
    e = sub.add_parser("embed")
    e.add_argument("--n", type=int, default=256)
    e.add_argument("--repeats", type=int, default=2)
    e.add_argument("--stats", action="store_true", help="print Ray Data's Dataset.stats() of the first Ray run")
    a = ap.parse_args()
    {"select": bench_select, "compare": bench_compare, "units": bench_units, "embed": bench_embed}[a.what](a)


if __name__ == "__main__":
    main()
