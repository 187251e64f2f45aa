"""Selections ahead of a run: which are cached, the background warm-up, and one computation per entry."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import coldstart.select.cache as c
from coldstart.runs import RunConfig
from coldstart.runs import warm as W


def _cfg(ds, **kw):
    d = dict(dataset=ds.name, task="probe", methods=["random", "pixels:kmeans-paper", "pixels:typiclust"],
             budgets=[6, 12], seeds=[0, 1])
    d.update(kw)
    return RunConfig.from_dict(d)


def test_default_comparison_is_the_train_pages_default(blob_dataset):
    from coldstart.embed import list_embedders
    from coldstart.runs.defaults import cold_start_selectors, default_run_methods, usable_embedders

    cfg = W.default_comparison(blob_dataset)
    assert cfg.methods == default_run_methods(blob_dataset, usable_embedders(list_embedders(blob_dataset)),
                                              cold_start_selectors()[0], "paper")
    assert cfg.task == "probe" and cfg.seeds == [0, 1, 2, 3, 4]
    pool = int((blob_dataset.splits == "train").sum())
    assert cfg.budgets == [b for b in W.DEFAULT_BUDGETS if b <= pool]


def test_warm_fills_what_a_run_reads(blob_dataset, monkeypatch):
    from coldstart.runs.runner import create_run
    from coldstart.runs.work import Work

    cfg = _cfg(blob_dataset)
    assert W.selection_jobs(cfg)[:3] == [("random", 0), ("pixels:kmeans-paper", 0), ("pixels:typiclust", 0)]
    assert not any(W.cached_selections(cfg).values())
    seen = []
    assert W.warm_selections(cfg, progress=lambda d, t: seen.append((d, t))) == 6
    assert seen[-1] == (6, 6) and all(W.cached_selections(cfg).values())
    assert W.warm_selections(cfg) == 0  # nothing left
    # a run's workers read every selection from the cache: selecting now would fail the test
    monkeypatch.setattr(c, "select", lambda *a, **k: pytest.fail(f"recomputed {a[0]}"))
    work = Work(create_run(cfg))
    for m, s in W.selection_jobs(cfg):
        assert len(work.selection(m, s)) == W.selection_length(cfg)


def test_warm_in_background_runs_once_per_dataset_version(blob_dataset, monkeypatch):
    calls = []
    monkeypatch.setattr(W, "default_comparison", lambda ds: _cfg(ds, seeds=[0]))
    real = W.warm_selections
    monkeypatch.setattr(W, "warm_selections",
                        lambda cfg, ds, **kw: calls.append((cfg.seeds, kw)) or real(cfg, ds, **kw))
    monkeypatch.setattr(W, "_THREADS", {})
    t = W.warm_in_background(blob_dataset)
    assert W.warm_in_background(blob_dataset) is t
    t.join(120)
    demo = W.demo_comparison(blob_dataset)
    # the default comparison with the quick demo's selections first, then the demo's own
    assert calls == [([0], dict(first=W.selection_jobs(demo))), (demo.seeds, {})]
    assert not t.is_alive() and W.warm_error(blob_dataset) is None
    assert all(W.cached_selections(_cfg(blob_dataset, seeds=[0])).values()) and all(W.cached_selections(demo).values())


def test_warm_computes_the_first_jobs_first(blob_dataset, monkeypatch):
    import coldstart.select.dataset as sd

    order, real = [], sd.pool_selection
    monkeypatch.setattr(sd, "pool_selection", lambda ds, sel, emb, *a, **k: order.append((sel, a[1])) or
                        real(ds, sel, emb, *a, **k))
    cfg = _cfg(blob_dataset)
    assert W.warm_selections(cfg, first=[("pixels:typiclust", 1)]) == 6
    assert order[0] == ("typiclust", 1) and order[1:3] == [("random", 0), ("kmeans-paper", 0)]


def test_a_failed_warm_up_is_recorded(blob_dataset, monkeypatch):
    monkeypatch.setattr(W, "_THREADS", {})
    monkeypatch.setattr(W, "default_comparison", lambda ds: (_ for _ in ()).throw(ValueError("boom")))
    W.warm_in_background(blob_dataset).join(60)
    assert W.warm_error(blob_dataset) == "ValueError: boom"


def test_concurrent_callers_compute_an_entry_once(blob_dataset, monkeypatch):
    X = np.random.default_rng(0).normal(size=(50, 5)).astype(np.float32)
    calls, real = [], c.select
    gate = threading.Event()

    def slow(*a, **k):
        calls.append(a[0])
        gate.wait(5)
        return real(*a, **k)

    monkeypatch.setattr(c, "select", slow)
    out = []
    threads = [threading.Thread(target=lambda: out.append(c.cached_select(blob_dataset, "kmeans", X, "e", 8)))
               for _ in range(3)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(60)
    assert calls == ["kmeans"] and len(out) == 3
    assert all(np.array_equal(o.indices, out[0].indices) for o in out)
