"""First-run estimates from the measured cost table (coldstart.runs.costs)."""
from __future__ import annotations

import numpy as np

from coldstart.runs import RunConfig, start_run
from coldstart.runs.costs import TABLE as SHIPPED, cost_table, first_run_seconds
from coldstart.runs.estimate import estimate_run
from coldstart.runs.units import plan_units

T = {"run_start_s": 1.0, "worker_start_s": 3.0, "embed_s_per_image": {"pixels": 0.01},
     "select": {"n": 10, "budget": 10, "random_s": 0.0, "dims": {"pixels": 1024},
                "seconds": {"pixels": {"kmeans": 1.0}}},
     "probe_part_s": 0.5, "probe_stratum_s": 0.0, "epoch": {"classification/quick": 0.2}}


def _cfg(**kw):
    return RunConfig.from_dict(dict(dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"],
                                         budgets=[5, 10], seeds=[0], workers=1), **kw))


def test_the_shipped_table_has_every_part_kind():
    t = cost_table(SHIPPED)
    assert t and {"run_start_s", "worker_start_s", "embed_s_per_image", "select", "probe_part_s", "epoch"} <= set(t)
    assert {"kmeans", "kmeans-paper"} <= set(t["select"]["seconds"]["gist"])


def test_embedding_and_selection_cost_only_until_cached(blob_dataset):
    cfg = _cfg()
    n, pool = len(blob_dataset), int((blob_dataset.splits == "train").sum())
    sec, words = first_run_seconds(cfg, blob_dataset, plan_units(cfg), 1, T)
    want_sel = 1.0 * pool * 10 / (10 * 10)
    assert np.isclose(sec, 1.0 + 0.01 * n + want_sel + 4 * 0.5) and "s embedding" in words
    start_run(cfg, background=False)  # fills the embedding and selection caches
    sec2, words2 = first_run_seconds(cfg, blob_dataset, plan_units(cfg), 1, T)
    assert np.isclose(sec2, 1.0 + 4 * 0.5) and "2 selections cached" in words2 and "embedding" not in words2
    # network tasks: image-epochs
    cls = _cfg(task="classification", preset="quick", train={"epochs": 3})
    sec3, _ = first_run_seconds(cls, blob_dataset, plan_units(cls), 1, T)
    assert np.isclose(sec3, 1.0 + 0.2 * 3 * (5 + 10) * 2)


def test_no_table_means_no_first_run_estimate(blob_dataset, tmp_path, monkeypatch):
    from coldstart.runs import costs

    monkeypatch.setattr(costs, "TABLE", tmp_path / "missing.json")
    est = estimate_run(_cfg(), dataset=blob_dataset)
    assert est.seconds is None and "no cost table" in est.basis
    assert estimate_run(_cfg()).seconds is None  # without the dataset: history only, as before
