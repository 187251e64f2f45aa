"""Selection benchmark: speed, memory, coverage, imbalance and OOD figures in one run.

    .venv/bin/python benchmarks/select.py                 # everything (~10-20 min on 2 loaded cores)
    .venv/bin/python benchmarks/select.py --only skal scale  # parts: skal scale speed big coverage minority ood

Parts
-----
speed     exact (kmeans-paper) vs fast (kmeans) at 800 x 1024 (random features), fast at
          100,000 x 1024 (exact estimated from timing k = 2, 3, 4).
big       typiclust / probcover / coreset at 100,000 x 1024, budget 100: time and peak RSS
          (each in its own process, so the RSS is its own).
skal      ours vs scikit-activeml's TypiClust and ProbCover, side by side in this one process,
          at 3,882 x 784 (PneumoniaMNIST pixels) and 20,000 x 1,024 (random), budget 100, seed 0:
          seconds, speed-up, coverage (mean distance from every pool image to its nearest pick, in
          the given features; lower is better) and the coverage gap. Their ProbCover at 20,000 needs
          N x N float64 distances (3.2 GB): ours alone there.
scale     fast kmeans and coreset at 100,000 x 1,024, budget 100, in this process (target < 20 s).
coverage  fast vs exact coverage (mean distance to nearest pick) at budgets 20..100 on phantom
          and PneumoniaMNIST pixel features.
minority  normal (10%) count among the first 20/40/60 picks on the PneumoniaMNIST train pool
          (balanced, random, kmeans; 5 seeds).
ood       OOD fraction among the first 100 picks on a phantom pool with 10% OOD images
          (5 seeds).

The phantom pool is generated once under ``--data-dir`` (default: $COLDSTART_DATA or
/tmp/coldstart-bench) as ``phantom-ood10`` (800 images, 10% OOD, 128 px) and embedded with
``pixels``. Other processes share the CPU: the load average is printed with every part.
"""

from __future__ import annotations

import sys  # noqa: I001  (first: this file is named like the stdlib module `select`)

if sys.path and sys.path[0] == __import__("os").path.dirname(__import__("os").path.abspath(__file__)):
    sys.path.pop(0)  # run as a script: don't let benchmarks/select.py shadow the stdlib `select`

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PNEUMONIA = next((p for p in (ROOT.parent / "shared", Path("/work/shared"))
                  if (p / "data" / "pneumoniamnist" / "pneumoniamnist.npz").exists()),
                 ROOT.parent / "shared") / "data" / "pneumoniamnist" / "pneumoniamnist.npz"
BUDGETS = (20, 40, 60, 80, 100)


def load() -> str:
    return "load avg %.2f %.2f %.2f" % os.getloadavg()


def say(*a):
    print(*a, flush=True)


def random_features(n: int, d: int = 1024, seed: int = 0) -> np.ndarray:
    """Gaussian mixture (50 centres) so clusterings have something to find."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1, (50, d)).astype(np.float32)
    return c[rng.integers(50, size=n)] + rng.normal(0, 1.0, (n, d)).astype(np.float32)


def pneumonia():
    d = np.load(PNEUMONIA)
    X = d["train_images"].reshape(len(d["train_images"]), -1).astype(np.float32) / 255
    return X, d["train_labels"].ravel()


def phantom():
    from coldstart.data import Dataset
    from coldstart.embed import load_embeddings

    try:
        ds = Dataset("phantom-ood10")
    except Exception:
        from coldstart.data.phantom import generate_phantom

        say("generating phantom-ood10 (800 images, 10% OOD) ...")
        ds = generate_phantom("phantom-ood10", n=800, seed=0, size=128, ood_fraction=0.1)
    X = load_embeddings(ds, "pixels")
    return X, ds.ood


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def timed_cpu(fn, *a, **k):
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - t, time.process_time() - c


# ---------------------------------------------------------------- child process runner

def child(spec: dict) -> dict:
    """Run one timed selection in this process (called with --child JSON)."""
    import threadpoolctl

    threadpoolctl.threadpool_limits(spec.get("threads", 2))
    if spec["data"] == "pneumonia":
        X = pneumonia()[0]
    else:
        X = random_features(spec["n"], spec.get("d", 1024), seed=1)
    from coldstart.select import select

    t = time.perf_counter()
    c = time.process_time()
    s = select(spec["name"], X, spec["budget"], seed=0)
    extra = {k: s.info.get(k) for k in ("delta", "n_edges", "n_clusters", "k_max") if k in s.info}
    idx = s.indices
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    assert len(set(np.asarray(idx).tolist())) == spec["budget"]
    return {"seconds": dt, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "cpu_s": round(cpu, 1), **extra}


def run_child(spec: dict, timeout: int = 600, mem_gb: float | None = None) -> dict:
    pre = None
    if mem_gb:
        lim = int(mem_gb * 2**30)
        pre = lambda: resource.setrlimit(resource.RLIMIT_AS, (lim, lim))  # noqa: E731
    try:
        r = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True,
                           text=True, timeout=timeout, preexec_fn=pre)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {r.returncode}: {last[:160]}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- parts

def part_speed(a):
    from coldstart.select import select

    say(f"\n== speed: exact vs fast nested KMeans ({load()})")
    X = random_features(800)
    select("kmeans", X[:100], 5)  # warm imports
    fast, tf, cf = timed_cpu(select, "kmeans", X, 100, seed=2024)
    exact, te, ce = timed_cpu(select, "kmeans-paper", X, 100, seed=2024)
    say(f"800 x 1024, budget 100: exact {te:.2f} s wall / {ce:.1f} s CPU (k up to {exact.info['k_max']}), "
        f"fast {tf:.3f} s wall / {cf:.2f} s CPU (k up to {fast.info['k_max']}) -> fast is {te / tf:.1f}x faster "
        f"(CPU {ce / cf:.1f}x); coverage mean exact {exact.info['coverage_mean']:.4f} fast "
        f"{fast.info['coverage_mean']:.4f}")
    X = random_features(100_000)
    fast, tf, cf = timed_cpu(select, "kmeans", X, 100, seed=2024)
    say(f"100,000 x 1024, budget 100: fast {tf:.1f} s wall / {cf:.1f} s CPU (k up to {fast.info['k_max']}) "
        f"({load()})")
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    Xs = StandardScaler().fit_transform(X)
    ts = {}
    for k in (2, 3, 4):
        _, ts[k] = timed(lambda: KMeans(n_clusters=k, init="random", n_init=1, random_state=2024).fit(Xs))
    slope = np.polyfit(list(ts), list(ts.values()), 1)
    kmax = int(exact.info["k_max"])  # the exact loop's k at 800 x 1024 as the proxy
    est = 10 * sum(max(np.polyval(slope, k), min(ts.values())) for k in range(2, kmax + 1))
    say(f"exact at 100,000 x 1024 (estimated): one KMeans n_init=1 takes "
        + ", ".join(f"k={k}: {t:.1f} s" for k, t in ts.items())
        + f"; x10 restarts, k = 2..{kmax} -> ~{est:.0f} s (~{est / 60:.0f} min), i.e. ~{est / tf:.0f}x the fast mode")


def part_big(a):
    say(f"\n== typiclust / probcover / coreset at 100,000 x 1024, budget 100 ({load()})")
    for name in ("typiclust", "probcover", "coreset", "kmeans"):
        r = run_child({"name": name, "data": "random", "n": 100_000, "budget": 100,
                       "threads": a.threads}, timeout=900)
        rest = json.dumps({k: v for k, v in r.items() if k not in ("seconds", "peak_rss_gb")})
        say(f"{name:10s} " + (r.get("error") or f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB "
                              f"(incl. the 0.4 GB feature matrix) {rest}") + f"  ({load()})")


def part_skal(a):
    from coldstart.select import select
    from coldstart.select.diagnostics import coverage

    say(f"\n== ours vs scikit-activeml, one process, budget 100, seed 0 ({load()})")
    try:
        import skactiveml
        from skactiveml.pool import ProbCover, TypiClust
    except ImportError:
        say("scikit-activeml is not installed: pip install -e '.[bench]'")
        return
    say(f"scikit-activeml {skactiveml.__version__}; coverage = mean distance to the nearest pick (lower is better)")
    say(f"{'selector':10s} {'pool':>14s} {'ours s':>8s} {'theirs s':>9s} {'speed-up':>9s} {'ours cov':>10s} "
        f"{'theirs cov':>11s} {'cov gap':>8s}  load")
    for data, X in (("3,882 x 784", pneumonia()[0]), ("20,000 x 1,024", random_features(20_000, seed=1))):
        select("typiclust", X[:300], 5)  # warm imports
        for name, cls in (("typiclust", TypiClust), ("probcover", ProbCover)):
            s, t_ours = timed(select, name, X, 100, seed=0)
            c_ours = coverage(X, s.indices)["coverage_mean"]
            if name == "probcover" and len(X) > 10_000:
                say(f"{name:10s} {data:>14s} {t_ours:8.2f} {'-':>9s} {'-':>9s} {c_ours:10.4f} {'-':>11s} {'-':>8s}  "
                    f"{load()} (theirs: N x N float64 distances, {len(X) ** 2 * 8 / 2**30:.1f} GB)")
                continue
            idx, t_theirs = timed(lambda: cls(random_state=0).query(X, np.full(len(X), np.nan), batch_size=100))
            c_theirs = coverage(X, idx)["coverage_mean"]
            say(f"{name:10s} {data:>14s} {t_ours:8.2f} {t_theirs:9.2f} {t_theirs / t_ours:8.1f}x {c_ours:10.4f} "
                f"{c_theirs:11.4f} {100 * (c_ours / c_theirs - 1):+7.2f}%  {load()}")


def part_scale(a):
    from coldstart.select import select

    say(f"\n== fast kmeans and coreset at 100,000 x 1,024, budget 100, one process ({load()})")
    X = random_features(100_000, seed=1)
    select("kmeans", X[:500], 10)  # warm imports
    for name in ("kmeans", "coreset"):
        s, t = timed(select, name, X, 100, seed=0)
        say(f"{name:8s} {t:6.2f} s (target < 20 s: {'met' if t < 20 else 'NOT met'}), "
            f"coverage {s.info['coverage_mean']:.3f}  ({load()})")


def part_coverage(a):
    from coldstart.select import select
    from coldstart.select.diagnostics import coverage
    from coldstart.select._space import standardize

    say(f"\n== coverage, fast vs exact (mean distance from each pool image to its nearest pick) ({load()})")
    sets = [("phantom 800 x 1024 pixels", phantom()[0])]
    if PNEUMONIA.exists():
        sets.append(("PneumoniaMNIST train 3,882 x 784 pixels", pneumonia()[0]))
    for label, X in sets:
        fast, tf = timed(select, "kmeans", X, 100, seed=2024)
        exact, te = timed(select, "kmeans-paper", X, 100, seed=2024)
        for space, F in (("raw", X), ("z-scored", standardize(X))):
            cf = coverage(F, fast.indices, BUDGETS)["coverage_curve"]
            ce = coverage(F, exact.indices, BUDGETS)["coverage_curve"]
            cells = [f"b={b}: {e:.4f} vs {f:.4f} ({100 * (f / e - 1):+.1f}%)" for (b, e, _), (_, f, _) in zip(ce, cf)]
            say(f"{label} [{space}] exact vs fast: " + "; ".join(cells))
        say(f"   times: exact {te:.1f} s, fast {tf:.2f} s ({te / tf:.0f}x) ({load()})")


def part_minority(a):
    from coldstart.select import select

    say(f"\n== minority (normal, 10%) among first 20/40/60 picks, PneumoniaMNIST train pixels, 5 seeds ({load()})")
    X, y = pneumonia()
    for name in ("balanced", "random", "kmeans"):
        c = np.array([[(y[select(name, X, 60, seed=s).indices[:b]] == 0).sum() for b in (20, 40, 60)]
                      for s in range(5)])
        say(f"{name:9s} mean {' / '.join(f'{m:.1f}' for m in c.mean(0))}   per seed {c.tolist()}")


def part_ood(a):
    from coldstart.select import select

    say(f"\n== OOD fraction among first 100 picks, phantom pool with 10% OOD, 5 seeds ({load()})")
    X, ood = phantom()
    say(f"pool: {len(X)} images, {ood.mean():.1%} OOD")
    for name in ("random", "kmeans", "typiclust", "probcover", "balanced", "coreset", "ood-aware"):
        f = [float(ood[select(name, X, 100, seed=s).indices].mean()) for s in range(5)]
        say(f"{name:9s} mean {np.mean(f):.3f}   per seed {[round(v, 2) for v in f]}")


PARTS = {"skal": part_skal, "scale": part_scale, "minority": part_minority, "ood": part_ood, "speed": part_speed,
         "coverage": part_coverage, "big": part_big}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=list(PARTS), help="parts to run (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2 = the machine)")
    ap.add_argument("--data-dir", default=os.environ.get("COLDSTART_DATA", "/tmp/coldstart-bench"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    os.environ["COLDSTART_DATA"] = a.data_dir
    import threadpoolctl

    threadpoolctl.threadpool_limits(a.threads)
    say(f"coldstart selection benchmark, {os.cpu_count()} CPUs, BLAS threads {a.threads}, {load()}")
    for name in a.only or PARTS:
        try:
            PARTS[name](a)
        except Exception as e:  # report and go on with the other parts
            import traceback

            say(f"part {name} failed: {type(e).__name__}: {e}")
            traceback.print_exc()


if __name__ == "__main__":
    main()
