"""Runs with --strata: per-stratum metrics against a hand computation, the CSV stratum column, bad inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart import metrics as M
from coldstart.errors import ColdstartError


def test_stratum_metrics_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([.1, .4, .35, .8, .9, .2, .7, .6])
    pred = (s >= 0.5).astype(int)
    st = np.array(["n", "n", "n", "n", "drain", "untreated", "drain", "untreated"], object)
    rows = M.stratum_metrics(y, s, pred, st, ["drain", "untreated", "absent"], np.ones((1, 8)))
    got = {(r["stratum"], r["metric"]): r["value"] for r in rows}
    # drain positives (.9, .7) vs negatives (.1, .4, .35, .8): 7 of 8 pairs ordered
    assert got[("drain", "auroc")] == pytest.approx(7 / 8)
    # untreated positives (.2, .6) vs the negatives: .2 beats .1 only, .6 beats three -> 4/8
    assert got[("untreated", "auroc")] == pytest.approx(4 / 8)
    assert got[("drain", "sensitivity")] == 1.0 and got[("untreated", "sensitivity")] == 0.5
    from sklearn.metrics import average_precision_score
    keep = (st == "untreated") | (y == 0)
    assert got[("untreated", "ap")] == pytest.approx(average_precision_score(y[keep], s[keep]))
    absent = [r for r in rows if r["stratum"] == "absent"]
    assert all(np.isnan(r["value"]) and "no positive of this stratum" in r["reason"] for r in absent)


@pytest.fixture
def blobs_with_strata(blob_dataset):
    ds = blob_dataset
    m = ds.manifest
    m["subgroup"] = np.where(ds.labels == 1, np.where(np.arange(len(m)) % 2 == 0, "PTX + drain", "PTX untreated"),
                             "normal")
    m.to_parquet(ds.dir / "manifest.parquet")
    from coldstart.data import Dataset

    return Dataset(ds.name)


def test_run_with_strata_reports_each_stratum(blobs_with_strata, capsys):
    from coldstart.cli import main
    from coldstart.runs import RunConfig, RunStore, report_table, start_run, summarize

    cfg = RunConfig.from_dict(dict(dataset="blobs", methods=["random", "pixels:kmeans"], budgets=[16], seeds=[0],
                                   strata="subgroup", n_bootstrap=20, workers=1))
    rid = start_run(cfg, background=False)
    r = RunStore("blobs", rid).results()
    assert set(r["stratum"]) == {"all", "PTX + drain", "PTX untreated"}
    assert set(r.loc[r.stratum != "all", "metric"]) == {"ap", "auroc", "sensitivity"}
    # overall tables are unchanged by the extra rows
    assert set(summarize(r, "ap")["stratum"]) == {"all"}
    assert "PTX" not in report_table(r, "ap", "text")
    assert main(["report", rid, "--format", "csv"]) == 0
    csv = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert {"all", "PTX + drain", "PTX untreated"} <= set(csv["stratum"])


def test_strata_bad_inputs(blobs_with_strata):
    from coldstart.runs import RunConfig

    with pytest.raises(ColdstartError, match=r"strata='nope' is not in the manifest: choose one of .*subgroup"):
        RunConfig.from_dict(dict(dataset="blobs", budgets=[8], strata="nope")).validate()
    with pytest.raises(ColdstartError, match=r"strata='id' is not a categorical column"):
        RunConfig.from_dict(dict(dataset="blobs", budgets=[8], strata="id")).validate()


def test_compare_page_shows_strata(blobs_with_strata):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from coldstart import compare
    from coldstart.runs import RunConfig, RunStore, start_run, stratum_table

    rid = start_run(RunConfig.from_dict(dict(dataset="blobs", methods=["random", "pixels:kmeans"], budgets=[8, 16],
                                             seeds=[0, 1], strata="subgroup", n_bootstrap=20, workers=1)),
                    background=False)
    r = RunStore("blobs", rid).results()
    t = stratum_table(r, "ap")
    assert list(t["method"]) == ["random", "pixels:kmeans"] and (t["budget"] == 16).all()
    per = t[["PTX + drain", "PTX untreated"]]
    assert np.allclose(t["worst"], per.min(axis=1)) and set(t["worst stratum"]) <= {"PTX + drain", "PTX untreated"}
    ch = compare.chance_levels(blobs_with_strata, "subgroup")
    assert 0 < ch["PTX + drain"] < ch["all"] < 1
    page = Path(__file__).resolve().parents[1] / "pages" / "3_Compare.py"
    at = AppTest.from_file(str(page), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert any("Per stratum" in h.value for h in at.header)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("chance" in x for x in specs) and any("full-label ceiling" in x for x in specs)
    ceil = compare.full_label_ceiling(blobs_with_strata, "pixels", "subgroup")
    assert set(ceil) == {"all", "PTX + drain", "PTX untreated"} and 0 <= ceil["all"]["ap"] <= 1
