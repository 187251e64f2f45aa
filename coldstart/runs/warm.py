"""A run's selections ahead of the run: which are cached, and computing the rest (in the background).

The default comparison on the phantom pool spends most of a cold run in its ten ``kmeans-paper``
selections (two embeddings x five seeds). The app starts :func:`warm_in_background` when it first
builds the default pool, so that the first run a user starts only trains (the quick demo's selections
are computed first): its workers find the
selections in the shared selection cache (``coldstart.select.cache``). A selection being computed
by the warming thread holds its cache entry's lock, so a run that asks for it meanwhile waits for
it instead of computing it twice.

Examples
--------
>>> cfg = default_comparison(ds)                 # doctest: +SKIP
>>> cached_selections(cfg)                       # doctest: +SKIP
{('random', 0): True, ('pixels:kmeans-paper', 0): False, ...}
>>> warm_selections(cfg)                         # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .config import RunConfig, parse_method

#: The Train page's defaults for a new run (the probe over these budgets and seeds).
DEFAULT_BUDGETS = (20, 40, 60, 80, 100)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)


def default_comparison(dataset) -> RunConfig:
    """The run the Train page proposes on ``dataset``: the probe, :func:`~coldstart.runs.defaults.
    default_run_methods` under the paper preset, :data:`DEFAULT_BUDGETS` (capped at the pool) and
    :data:`DEFAULT_SEEDS`."""
    from ..embed import list_embedders
    from .defaults import cold_start_selectors, default_run_methods, usable_embedders

    embs = usable_embedders(list_embedders(dataset))
    sels, _ = cold_start_selectors()
    pool = int((dataset.splits == "train").sum()) or len(dataset)
    budgets = [b for b in DEFAULT_BUDGETS if b <= pool] or [pool]
    return RunConfig.from_dict(dict(dataset=dataset.name, task="probe", methods=default_run_methods(
        dataset, embs, sels, "paper"), budgets=budgets, seeds=list(DEFAULT_SEEDS), preset="paper"))


def demo_comparison(dataset) -> RunConfig:
    """The Train page's one-click quick demo on ``dataset`` (:func:`~coldstart.runs.defaults.quick_demo`)."""
    from ..embed import list_embedders
    from .defaults import quick_demo, usable_embedders

    return RunConfig.from_dict(dict(quick_demo(dataset, usable_embedders(list_embedders(dataset))),
                                    dataset=dataset.name))


def selection_length(cfg: RunConfig) -> int:
    """How many picks a run of ``cfg`` selects per (method, seed): its largest cold-start budget."""
    return max(cfg.budgets[-1] if cfg.cold_start else 0, cfg.budgets[0])


def selection_jobs(cfg: RunConfig) -> list[tuple[str, int]]:
    """The run's (method, seed) selections, lowest seeds first (a smaller demo grid's come first)."""
    return [(m, int(s)) for s in sorted(cfg.seeds) for m in cfg.methods]


def _request(cfg: RunConfig, method: str) -> tuple[str, str | None, dict]:
    emb, sel = parse_method(method)
    return sel, emb, cfg.selector_kwargs(sel)


def cached_selections(cfg: RunConfig, dataset=None) -> dict[tuple[str, int], bool]:
    """For every (method, seed) of a run of ``cfg`` on the train pool: is its selection cached? Never computes."""
    from ..data import Dataset
    from ..select.dataset import is_cached

    ds = dataset if dataset is not None else Dataset(cfg.dataset)
    need = selection_length(cfg)
    out = {}
    for m, s in selection_jobs(cfg):
        sel, emb, params = _request(cfg, m)
        out[(m, s)] = is_cached(ds, sel, emb, need, s, "train", params)
    return out


def warm_selections(cfg: RunConfig, dataset=None, stop=None, progress=None, first=()) -> int:
    """Compute (and cache) every selection of a run of ``cfg`` that is not cached yet; returns how many.

    The features are those a run's workers select in (float32 embeddings of the train pool), so the
    run reads these entries. ``stop()`` (optional) is checked between selections; ``progress(done, total)``
    is called after each. The (method, seed) pairs in ``first`` are computed before the others (a longer
    selection serves a shorter one: the default comparison's serve the quick demo's).
    """
    from ..data import Dataset
    from ..embed import load_embeddings
    from ..select.dataset import pool_selection

    ds = dataset if dataset is not None else Dataset(cfg.dataset)
    todo = [job for job, hit in cached_selections(cfg, ds).items() if not hit]
    early = set(first)
    todo.sort(key=lambda job: job not in early)  # stable: otherwise in selection_jobs order
    need, feats, done = selection_length(cfg), {}, 0
    for m, s in todo:
        if stop is not None and stop():
            break
        sel, emb, params = _request(cfg, m)
        if emb is not None and emb not in feats:
            feats[emb] = np.asarray(load_embeddings(ds, emb), np.float32)
        pool_selection(ds, sel, emb, need, s, "train", params, features=feats.get(emb))
        done += 1
        if progress is not None:
            progress(done, len(todo))
    return done


# ---- the background thread ---------------------------------------------------------------------
_THREADS: dict[tuple[str, str], threading.Thread] = {}
_ERRORS: dict[tuple[str, str], str] = {}
_LOCK = threading.Lock()


def _lower_priority() -> None:
    """Let the thread yield to the app's interactive work (Linux: a thread's nice value is its own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def _warm(key: tuple[str, str], dataset) -> None:
    _lower_priority()
    try:
        # the quick demo's selections first (the default comparison's, at its longer budget, serve them),
        # so a demo started a few seconds after the pool only trains; then what the demo has of its own
        demo = demo_comparison(dataset)
        warm_selections(default_comparison(dataset), dataset, first=selection_jobs(demo))
        warm_selections(demo, dataset)
    except Exception as e:  # noqa: BLE001 - a failed warm-up only means the run computes them itself
        _ERRORS[key] = f"{type(e).__name__}: {e}"


def warm_in_background(dataset) -> threading.Thread:
    """Start computing the default comparison's selections on ``dataset`` in a daemon thread, once per
    dataset version and process; returns the thread (``.is_alive()`` while it works). The thread calls
    only the package (no Streamlit): what it computes lands in the selection cache."""
    key = (str(dataset.dir), dataset.manifest_hash)
    with _LOCK:
        t = _THREADS.get(key)
        if t is None:
            t = threading.Thread(target=_warm, args=(key, dataset), name=f"coldstart-warm-{dataset.name}",
                                 daemon=True)
            _THREADS[key] = t
            t.start()
    return t


def warm_error(dataset) -> str | None:
    """The error that stopped :func:`warm_in_background` on ``dataset`` (None: none)."""
    return _ERRORS.get((str(dataset.dir), dataset.manifest_hash))
