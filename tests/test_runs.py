"""Run configs, the run store, the runner (SIGKILL + resume), the report and the CLI."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs import (RunConfig, RunStore, cancel_run, list_runs, plan_units, report_table, resume_run,
                            start_run)
from coldstart.runs.runner import create_run, execute

TIMING = ["train_s", "unit_s"]


def _cfg(**kw):
    d = dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[8, 16], seeds=[0, 1],
             n_bootstrap=20)
    d.update(kw)
    return RunConfig.from_dict(d)


def test_config_errors_are_clear(blob_dataset):
    with pytest.raises(ColdstartError, match=r"unknown run config key\(s\) \['budget'\].*budgets"):
        RunConfig.from_dict({"dataset": "blobs", "budget": [20]})
    with pytest.raises(ColdstartError, match="larger than the pool"):
        _cfg(budgets=[20, 500]).validate()
    with pytest.raises(ColdstartError, match="embedder 'nope'"):
        _cfg(methods=["nope:kmeans"]).validate()
    with pytest.raises(ColdstartError, match="unknown selector"):
        _cfg(methods=["pixels:nope"]).validate()
    with pytest.raises(ColdstartError, match="increasing"):
        _cfg(budgets=[20, 10])
    with pytest.raises(ColdstartError, match="strategy"):
        _cfg(rounds=2, strategy="most-fun")
    c = _cfg(methods="random, pixels:kmeans", budgets="8,16", rounds=3, query_size=4)
    assert c.methods == ["random", "pixels:kmeans"] and c.al_budgets == [8, 12, 16, 20]
    assert c.probe_embedding("random") == "pixels"  # one fixed embedding for every method
    assert len(plan_units(c)) == 2 * 2 * 2 + 2 * 2 * 4
    # nothing was written for a refused config
    assert not (blob_dataset.dir / "runs").exists() or not any((blob_dataset.dir / "runs").iterdir())


def test_probe_run_results_report_and_predictions(blob_dataset):
    rid = start_run(_cfg(oracle={"noise": 0.1}), background=False)
    st = RunStore("blobs", rid)
    r = st.results()
    assert st.status() == "finished"
    assert r["unit"].nunique() == 8
    assert set(r["metric"]) == {"ap", "auprc_trapz", "auroc", "f1"}
    ok = r[r.status == "ok"]
    assert ok["value"].between(0, 1).all() and (ok["se"] > 0).all()
    # selections are nested: budget 8 is a prefix of budget 16
    sel = st.selection("pixels:kmeans", 0)
    assert len(sel) == 16 and sel["pool_pos"].is_unique
    # per-test-sample predictions for paired comparisons
    p = st.predictions("cold|random|s0|b16")
    assert {"index", "y", "score", "pred"} <= set(p.columns)
    assert len(p) == len(blob_dataset.split_indices("test"))
    csv = report_table(r, "auprc", "csv")
    df = pd.read_csv(pd.io.common.StringIO(csv))
    assert {"method", "budget", "metric", "mean", "se", "n_seeds", "n_untrainable", "phase", "round"} <= set(df.columns)
    assert len(df) == 4
    txt = report_table(r, "auprc")
    assert "random" in txt and "pixels:kmeans" in txt and "*" in txt
    assert "\\textbf" in report_table(r, "auroc", "latex")
    assert report_table(r, "f1", "markdown").count("**") >= 4  # one best cell per budget column
    from coldstart.runs import paired_comparison

    pc = paired_comparison(st, "pixels:kmeans", "random", 16, 0, "auroc", n=50)
    assert pc["lo"] <= pc["diff"] <= pc["hi"] and pc["n_test"] == len(p)
    pr = st.progress()
    assert pr["units_done"] == pr["units_total"] == 8 and pr["status"] == "finished"
    ev = [e["event"] for e in st.events()]
    assert ev[0] == "started" and ev[-1] == "finished" and ev.count("unit-started") == 8
    lr = list_runs("blobs")
    assert lr.loc[0, "run_id"] == rid and lr.loc[0, "status"] == "finished"


def test_one_class_sets_are_recorded_and_counted(data_root):
    from conftest import make_blob_dataset

    make_blob_dataset("rare", data_root, n=80, pos_rate=0.08, seed=1)
    rid = start_run(RunConfig.from_dict(dict(dataset="rare", methods=["random"], budgets=[4, 40],
                                             seeds=[0, 1, 2, 3, 4], n_bootstrap=20)), background=False)
    r = RunStore("rare", rid).results()
    bad = r[(r.status == "untrainable") & (r.budget == 4)]
    assert len(bad) and (bad["reason"] == "no pneumothorax image").all()
    txt = report_table(r, "auprc")
    n_bad = bad["seed"].nunique()
    assert f"{n_bad}/5 seeds untrainable (no pneumothorax image)" in txt
    s = r[(r.metric == "ap") & (r.budget == 4) & (r.status == "ok")]
    if len(s):
        assert f"[{5 - n_bad}/5]" in txt


def _strategy():
    try:
        import coldstart.select.uncertainty  # noqa: F401
    except ModuleNotFoundError:  # the uncertainty module is written by another stage
        return "random"
    return "least-confidence"


def test_al_rounds_grow_by_query_size(blob_dataset):
    strategy = _strategy()
    rid = start_run(_cfg(cold_start=False, rounds=3, query_size=4, methods=["pixels:kmeans"], seeds=[0],
                         strategy=strategy), background=False)
    st = RunStore("blobs", rid)
    r = st.results().drop_duplicates("unit").sort_values("round")
    assert list(r["round"]) == [0, 1, 2, 3] and list(r["budget"]) == [8, 12, 16, 20]
    assert list(r["n_labeled"]) == [8, 12, 16, 20]
    picked = [np.load(st.dir / "state" / f"al~pixels~kmeans~s0~r{k}.npz")["picked"] for k in range(4)]
    for a, b in zip(picked, picked[1:]):
        assert len(b) == len(a) + 4 and (b[:len(a)] == a).all() and len(np.unique(b)) == len(b)
    assert (picked[0] == st.selection("pixels:kmeans", 0)["pool_pos"].to_numpy()[:8]).all()
    assert "(AL)" in report_table(st.results(), "auprc")


def _spawn_runner(run_dir, delay="0.4"):
    env = dict(os.environ, COLDSTART_TEST_UNIT_DELAY=delay)
    return subprocess.Popen([sys.executable, "-m", "coldstart.runs.runner", str(run_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _wait_units(store, n, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if store.results()["unit"].nunique() >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"runner exited early: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("runner too slow")


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(blob_dataset):
    cfg = _cfg(rounds=2, query_size=4, oracle={"noise": 0.1}, seeds=[0, 1], strategy=_strategy())
    ref_dir = create_run(cfg)
    ref = execute(ref_dir)
    d = create_run(cfg)
    st = RunStore.from_dir(d)
    p = _spawn_runner(d)
    _wait_units(st, 5, p)
    assert st.status() == "running"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert st.status() == "interrupted"
    done_before = set(st.done_units())
    assert 5 <= len(done_before) < len(plan_units(cfg))
    n_events = len(st.events())
    resume_run("blobs", d.name, background=False)
    assert st.status() == "finished"
    later = st.events()[n_events:]
    restarted = {e["unit"] for e in later if e["event"] == "unit-started"}
    assert not (restarted & done_before), "a finished unit was recomputed"
    got = st.results().drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)
    want = ref.drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.slow
def test_background_run_cancel_and_cli(blob_dataset, capsys):
    from coldstart.cli import main

    d = create_run(_cfg(seeds=[0, 1, 2]))
    st = RunStore.from_dir(d)
    p = _spawn_runner(d, delay="1.0")
    _wait_units(st, 1, p)
    assert cancel_run("blobs", d.name) == "cancelled"
    p.wait(timeout=30)
    assert st.status() == "cancelled"
    assert 1 <= st.results()["unit"].nunique() < 12
    assert main(["runs", "blobs"]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert main(["resume", d.name]) == 0
    assert st.status() == "finished" and st.results()["unit"].nunique() == 12
    assert main(["report", d.name, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-5].startswith("phase,") or "method" in out
    assert main(["report", d.name, "--metric", "dice"]) == 2  # not in a probe run: clear error
    assert main(["run", "--dataset", "blobs", "--methods", "random", "--budgets", "8", "--seeds", "0",
                 "--set", "C=0.5"]) == 0
    assert "run id:" in capsys.readouterr().out
    assert main(["run", "--dataset", "blobs", "--budgets", "8", "--set", "lr=1"]) == 2


def test_cli_runs_a_yaml_config(blob_dataset, tmp_path, capsys):
    from coldstart.cli import main

    y = tmp_path / "run.yaml"
    y.write_text("dataset: blobs\ntask: probe\nmethods: [random]\nbudgets: [16]\nseeds: [0]\n"
                 "oracle: {noise: 0.1}\nn_bootstrap: 10\n")
    assert RunConfig.from_yaml(y).oracle == {"noise": 0.1}
    assert main(["run", str(y), "--seeds", "0,1"]) == 0  # flags override the file
    rid = capsys.readouterr().out.split("run id: ")[1].split()[0]
    st = RunStore("blobs", rid)
    assert st.config.seeds == [0, 1] and st.results()["unit"].nunique() == 2
    assert main(["report", rid, "--format", "markdown"]) == 0
    assert "| random |" in capsys.readouterr().out
    y.write_text("dataset: blobs\nbudgetz: [16]\n")
    assert main(["run", str(y)]) == 2
    assert "budgetz" in capsys.readouterr().err


def test_the_probe_trains_on_the_datasets_default_embedder_pinned_at_creation(blob_dataset, monkeypatch):
    """A dataset default beyond raw pixels (e.g. gist on the phantom) is what every method's probe trains
    on, written into config.json so a resume never changes it; raw pixels keep the first-method rule."""
    import json

    from coldstart.embed import registry

    monkeypatch.setattr(registry, "default_embedder", lambda dataset=None, table=None: ("pixels-32", "test"))
    cfg = RunConfig(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[10], seeds=[0])
    d = create_run(cfg)
    assert json.loads((d / "config.json").read_text())["probe_embedder"] == "pixels-32"
    assert RunStore("blobs", d.name).config.probe_embedding("pixels:kmeans") == "pixels-32"

    monkeypatch.setattr(registry, "default_embedder", lambda dataset=None, table=None: ("pixels", "test"))
    cfg = RunConfig(dataset="blobs", task="probe", methods=["random", "pixels-32:kmeans"], budgets=[10], seeds=[0])
    d = create_run(cfg)
    assert json.loads((d / "config.json").read_text())["probe_embedder"] in (None, "")
    assert cfg.probe_embedding("random") == "pixels-32"
