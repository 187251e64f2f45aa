"""`coldstart select` / `coldstart selectors` end to end on a tiny dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.cli import main


def test_select_cli_writes_rank_index_id(blob_dataset, tmp_path, capsys):
    out20, out10 = tmp_path / "p20.csv", tmp_path / "p10.csv"
    for b, out in ((20, out20), (10, out10)):
        rc = main(["select", "blobs", "--embedder", "pixels", "--selector", "kmeans", "--budget", str(b),
                   "--seed", "1", "--split", "all", "--out", str(out)])
        assert rc == 0
    text = capsys.readouterr().out
    assert "class balance of picks" in text and "coverage" in text
    a, b = pd.read_csv(out10), pd.read_csv(out20)
    assert list(b.columns[:3]) == ["rank", "index", "id"]
    assert b["rank"].tolist() == list(range(1, 21)) and b["index"].is_unique
    assert a["index"].tolist() == b["index"].tolist()[:10]
    ids = blob_dataset.manifest["id"].to_numpy()
    assert (ids[b["index"]] == b["id"]).all()


def test_select_cli_default_pool_is_train_split(blob_dataset, tmp_path):
    out = tmp_path / "r.csv"
    assert main(["select", "blobs", "--selector", "random", "--budget", "5", "--out", str(out)]) == 0
    idx = pd.read_csv(out)["index"].to_numpy()
    assert (blob_dataset.manifest["split"].to_numpy()[idx] == "train").all()


def test_select_cli_errors(blob_dataset, capsys):
    assert main(["select", "blobs", "--selector", "kmeans", "--budget", "5"]) == 2
    assert "needs features: add --embedder" in capsys.readouterr().err
    assert main(["select", "blobs", "--selector", "random", "--budget", "500"]) == 2
    assert "larger than the pool" in capsys.readouterr().err
    assert main(["select", "blobs", "--selector", "random", "--budget", "5", "--param", "oops"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["selectors"]) == 0
    out = capsys.readouterr().out
    assert "ood-aware" in out
    assert "horizon=100 (int; >= 1): Number of clusters" in out  # declared parameters are listed
    assert main(["select", "blobs", "--selector", "random", "--budget", "5", "--param", "bogus=1"]) == 2
    assert "no parameter bogus" in capsys.readouterr().err
