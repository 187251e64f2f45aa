"""Run-time estimates from earlier runs, live ETA from epoch timing, unit keys in words."""

from __future__ import annotations

import numpy as np

from coldstart.runs import RunConfig, RunStore, start_run
from coldstart.runs.estimate import CONFIRM_OVER_S, Estimate, estimate_run, history, live_eta, unit_words


def _cfg(**kw):
    d = dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[8, 16], seeds=[0],
             n_bootstrap=20)
    d.update(kw)
    return RunConfig.from_dict(d)


def test_unit_words():
    assert unit_words("cold|pixels:probcover|s0|b100") == "probcover on pixels, seed 0, 100 images"
    assert unit_words("cold|random|s3|b20") == "random, seed 3, 20 images"
    assert unit_words("al|txrv:kmeans|s1|r2") == "kmeans on txrv then active learning round 2, seed 1"
    assert unit_words("odd") == "odd"


def test_estimate_from_earlier_runs_of_the_same_task_and_preset(blob_dataset):
    first = _cfg()
    none = estimate_run(first)
    assert none.seconds is None and none.parts == 4 and "no earlier probe run" in none.basis
    rid = start_run(first, background=False)
    spent = RunStore("blobs", rid).results().drop_duplicates("unit")["unit_s"].to_numpy(float)
    bigger = _cfg(seeds=[0, 1, 2], budgets=[8, 16, 24], workers=1)  # 18 parts, one after the other
    est = estimate_run(bigger)
    assert est.parts == 18 and "of 1 earlier probe run on" in est.basis
    assert np.isclose(est.seconds, 18 * np.median(spent))
    two = estimate_run(_cfg(seeds=[0, 1, 2], budgets=[8, 16, 24], workers=2))
    assert np.isclose(two.seconds, est.seconds / 2) and "shared by 2 workers" in two.basis
    # the probe ignores the preset; another task has its own history
    assert estimate_run(_cfg(preset="paper")).seconds is not None
    assert len(history(_cfg(task="classification"))) == 0


def test_confirmation_over_five_minutes_or_unknown():
    assert Estimate(10, CONFIRM_OVER_S + 1, "x").needs_confirmation
    assert not Estimate(10, CONFIRM_OVER_S - 1, "x").needs_confirmation
    assert Estimate(10, None, "no earlier run", "classification").needs_confirmation
    assert not Estimate(10, None, "no earlier run", "probe").needs_confirmation


def test_live_eta_from_epoch_timing(blob_dataset, tmp_path):
    rid = start_run(_cfg(workers=1), background=False)
    store = RunStore("blobs", rid)
    p = dict(store.progress(), units_total=10, units_done=4, epoch=5, epochs=20, unit_started_at=1000.0)
    eta, basis = live_eta(store, p, now=1050.0)  # 10 s per epoch so far
    per_part = store.results().drop_duplicates("unit")["unit_s"].astype(float).mean()
    assert np.isclose(eta, 15 * 10.0 + 5 * per_part)
    assert "epoch 5 of 20" in basis and "10 s per epoch" in basis
