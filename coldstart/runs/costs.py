"""A first run's time estimate from a measured cost table (``costs.json``), before any history exists.

``benchmarks/estimate_costs.py`` measures each kind of work on this machine and writes the table:

- ``run_start_s``: the runner process until its first part can start (imports, loading the run);
  ``worker_start_s`` for each worker process of a parallel run;
- ``embed_s_per_image``: computing an embedder's features, per image (only when not cached);
- ``select``: one selection per (method, seed), measured per embedder and selector at a reference pool
  (``n`` images, ``budget``) and scaled linearly in ``n x budget`` (an assumption, said in the estimate's
  words); an embedder not measured takes the measured one nearest in dimension, scaled by the dimension
  ratio. Selections already in the selection cache cost nothing;
- ``probe_part_s``: one probe part (fit, test-set bootstrap) and ``probe_stratum_s`` per stratum on top;
- ``epoch``: per task and preset, seconds per labelled image and epoch at the preset's image size.

The estimate is a sum of those over the run's parts, divided by the workers where parts run in
parallel. Earlier runs of the same kind replace it (:func:`coldstart.runs.estimate.estimate_run`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..io import read_json

TABLE = Path(__file__).with_name("costs.json")


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> dict:
    return read_json(Path(path))


def cost_table(path: Path | None = None) -> dict | None:
    """The measured table, or None when it is missing or unreadable (then there is no first-run estimate)."""
    p = Path(path or TABLE)
    try:
        t = _read(str(p), p.stat().st_mtime)
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    need = {"run_start_s", "worker_start_s", "embed_s_per_image", "select", "probe_part_s", "epoch"}
    if not need <= set(t) or not {"dims", "seconds", "n", "budget", "random_s"} <= set(t["select"]):
        return None  # written by another version of the benchmark: no first-run estimate until remeasured
    return t


def _selection_cached(ds, cfg, method: str, seed: int, need: int) -> bool:
    """Whether the run's selection of ``method`` / ``seed`` is already in the selection cache."""
    from ..select.dataset import is_cached
    from .config import parse_method

    emb, sel = parse_method(method)
    try:
        return is_cached(ds, sel, emb, need, int(seed), "train", cfg.selector_kwargs(sel))
    except Exception:  # noqa: BLE001 - unknown means "not cached": the estimate errs long
        return False


def first_run_seconds(cfg, ds, units, workers: int, table: dict | None = None) -> tuple[float | None, str]:
    """Seconds for ``units`` of ``cfg`` on ``ds`` from the cost table, and how they were counted."""
    from ..embed import cache_info, get_embedder
    from .config import parse_method

    t = table if table is not None else cost_table()
    if not t:
        return None, "no cost table (run benchmarks/estimate_costs.py)"
    words = []
    total = float(t["run_start_s"]) + (float(t["worker_start_s"]) * workers if workers > 1 else 0.0)
    n_all, pool = len(ds), int((ds.splits == "train").sum())
    embed = 0.0
    for e in cfg.embedders():
        if e.startswith("file:"):
            continue  # read from the user's file, not computed: negligible
        if cache_info(ds, e) is None:
            per = t["embed_s_per_image"].get(e.split(":")[0])
            if per is None:
                return None, f"no measured cost for embedding with {e!r}"
            embed += float(per) * n_all
    if embed:
        words.append(f"{embed:.0f} s embedding")
    total += embed
    ref = t["select"]
    need = max(cfg.budgets[-1] if cfg.cold_start else 0, cfg.budgets[0])
    sel_s, n_cached = 0.0, 0
    for m, s in dict.fromkeys((u.method, u.seed) for u in units):
        emb, sel = parse_method(m)
        if _selection_cached(ds, cfg, m, s, need):
            n_cached += 1
            continue
        if emb is None:
            sel_s += float(ref["random_s"])
            continue
        d = get_embedder(emb, ds).dim
        near, d_ref = _nearest(ref["dims"], emb.split(":")[0], d)
        base = ref["seconds"][near].get(sel)
        if base is None:
            return None, f"no measured cost for selector {sel!r}"
        sel_s += float(base) * pool * need / (ref["n"] * ref["budget"]) * (float(d or d_ref) / d_ref)
    words.append(f"{sel_s:.0f} s selecting" + (f" ({n_cached} selections cached)" if n_cached else ""))
    if cfg.task == "probe":
        n_strata = _n_strata(ds, cfg.strata)
        per_part = float(t["probe_part_s"]) + float(t["probe_stratum_s"]) * n_strata
        parts_s = per_part * len(units)
        words.append(f"{per_part:.2f} s per probe part" + (f" with {n_strata} strata" if n_strata else ""))
    else:
        rate = t["epoch"].get(f"{cfg.task}/{cfg.preset}")
        if rate is None:
            return None, f"no measured cost for {cfg.task} with preset {cfg.preset!r}"
        epochs = float(cfg.params.get("epochs", 1))
        parts_s = sum(float(rate) * u.budget * epochs for u in units)
        words.append(f"{float(rate):.3g} s per labelled image and epoch")
    total += (sel_s + parts_s) / max(workers, 1)
    basis = (", ".join(words) + f"; from the cost table measured on {t.get('machine', 'this machine')} "
             "(benchmarks/estimate_costs.py; selections scaled in pool size x budget)")
    if workers > 1:
        basis += f", shared by {workers} workers"
    return total, basis


def _nearest(dims: dict, name: str, d) -> tuple[str, float]:
    """The measured embedder for ``name`` (itself when measured, else the one nearest in dimension)."""
    if name in dims:
        return name, float(dims[name])
    if not d:
        name = max(dims, key=dims.get)  # unknown dimension: the largest measured (errs long)
        return name, float(dims[name])
    import math

    name = min(dims, key=lambda k: abs(math.log(float(dims[k]) / float(d))))
    return name, float(dims[name])


def _n_strata(ds, column) -> int:
    if not column:
        return 0
    from ..select.strata import stratum_values

    vals = stratum_values(ds.manifest, column)
    return len(set(vals[ds.labels == 1]))
