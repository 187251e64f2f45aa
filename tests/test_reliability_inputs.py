"""Bad inputs after the import: embeddings, pools, budgets, one-class sets, run configs.

Each case either raises :class:`ColdstartError` (CLI: ``error: ...``, exit 2, no
traceback) with a message that says what to do, or records a result; and
nothing already computed (cached embeddings, finished runs) is lost.
The case table is in tests/badinputs/README.md.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from coldstart.cli import main
from coldstart.errors import ColdstartError


def _digest(folder) -> dict:
    """{relative path: sha256} of every file under ``folder`` (to prove nothing was touched)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def _cli_error(argv, capsys, *fragments) -> str:
    """Run the CLI, expect exit 2 with ``error: ...`` naming every fragment, and no traceback."""
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err + out, err
    assert "error: " in err, err  # (after any progress bar)
    msg = err[err.index("error: "):]
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


@pytest.fixture
def blobs_with_cache(blob_dataset, capsys):
    """The blob dataset with its pixels embedding cached, plus a digest of that cache."""
    assert main(["embed", "blobs", "--embedder", "pixels"]) == 0
    capsys.readouterr()
    cache = blob_dataset.cache_dir("emb")
    return blob_dataset, cache, _digest(cache)


# ---------------------------------------------------------------------------
# bring-your-own embeddings and bad features (cases R1-R10)
# ---------------------------------------------------------------------------
def test_byo_embeddings_wrong_ids_nan_rows(blobs_with_cache, tmp_path, capsys):
    ds, cache, before = blobs_with_cache
    n, ids = len(ds), list(ds.ids)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)

    wrong = pd.DataFrame(x, columns=[f"d{i}" for i in range(4)])
    wrong.insert(0, "id", ids[:-1] + ["not-an-image"])
    wrong.to_csv(tmp_path / "wrong_ids.csv", index=False)
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'wrong_ids.csv'}"], capsys,
               "1 manifest ids are missing", "'not-an-image'", "provide exactly one row per image")

    dup = wrong.copy()
    dup["id"] = ids[:-1] + [ids[0]]
    dup.to_parquet(tmp_path / "dup_ids.parquet", index=False)
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'dup_ids.parquet'}"], capsys,
               "repeats 1 ids", "keep one row per id")

    nan = x.copy()
    nan[3, 1] = np.nan
    nan[7, 0] = np.inf
    np.save(tmp_path / "nan.npy", nan)
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'nan.npy'}"], capsys,
               "NaN or inf values in 2 rows", ids[3], "fix or drop those embeddings")

    np.save(tmp_path / "short.npy", x[:-1])
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'short.npy'}"], capsys,
               f"has {n - 1} rows but dataset 'blobs' has {n} images", "one row per manifest row")

    np.save(tmp_path / "obj.npy", np.array([{"a": 1}] * n, dtype=object), allow_pickle=True)
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'obj.npy'}"], capsys,
               "not a plain numeric .npy", "save float arrays")

    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 this is not parquet")
    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'garbage.parquet'}"], capsys,
               "could not read garbage.parquet")

    _cli_error(["embed", "blobs", "--embedder", f"file:{tmp_path / 'nowhere.npy'}"], capsys,
               "does not exist", "check the path")

    # no cache entry for the bad files (only resumable-chunk markers), the pixels cache is byte-identical
    assert {k: v for k, v in _digest(cache).items() if ".parts/" not in k} == before
    # a good file in shuffled order is matched by id and cached
    good = wrong.copy()
    good["id"] = ids
    good.sample(frac=1.0, random_state=0).to_csv(tmp_path / "good.csv", index=False)
    assert main(["embed", "blobs", "--embedder", f"file:{tmp_path / 'good.csv'}"]) == 0
    from coldstart.embed import load_embeddings

    np.testing.assert_allclose(load_embeddings(ds, f"file:{tmp_path / 'good.csv'}"), x, rtol=1e-6)


def test_selectors_refuse_nan_and_degenerate_features():
    from coldstart.select import list_selectors, select

    x = np.random.default_rng(0).normal(size=(30, 5))
    x[4, 2] = np.nan
    for name in list_selectors("cold-start"):
        if name == "random":
            continue
        with pytest.raises(ColdstartError, match="NaN or inf"):
            select(name, x, 5, 0)
    same = np.ones((30, 5))
    with pytest.raises(ColdstartError, match="only 1 distinct feature vectors.*choose a budget <= 1"):
        select("kmeans", same, 5, 0)


# ---------------------------------------------------------------------------
# pools of 0 and 1 image, budget larger than the pool (cases R11-R17)
# ---------------------------------------------------------------------------
def test_pool_of_zero_images(data_root, capsys):
    from coldstart.data import DatasetBuilder
    from coldstart.select import list_selectors, select

    b = DatasetBuilder("empty", classes=["normal", "pneumothorax"], source="test", root=data_root)
    with pytest.raises(ColdstartError, match="no usable images for dataset 'empty'"):
        b.finalize()
    _cli_error(["embed", "empty", "--embedder", "pixels"], capsys, "empty")
    for name in list_selectors("cold-start"):
        with pytest.raises(ColdstartError, match="empty"):
            select(name, np.zeros((0, 8)), 1, 0)
    with pytest.raises(ColdstartError, match="pool size 0 is empty"):
        select("random", 0, 1, 0)


def test_pool_of_one_image(data_root, capsys):
    from coldstart.data import DatasetBuilder
    from coldstart.select import list_selectors, select

    b = DatasetBuilder("one", classes=["normal", "pneumothorax"], source="test", root=data_root)
    b.add("only", np.full((16, 16), 0.5, np.float32), label=1, split="train")
    ds = b.finalize()
    assert len(ds) == 1
    assert main(["embed", "one", "--embedder", "pixels"]) == 0  # embedding one image is fine
    capsys.readouterr()
    x = np.random.default_rng(0).normal(size=(1, 8))
    outcomes = {}
    for name in list_selectors("cold-start"):
        try:
            s = select(name, x, 1, 0)
        except ColdstartError as e:  # allowed, if it says what to do
            assert any(w in str(e) for w in ("choose", "use ")), (name, e)
            outcomes[name] = "error"
        else:
            assert list(s.indices) == [0], name
            outcomes[name] = "picked"
        with pytest.raises(ColdstartError, match="larger than the pool"):
            select(name, x, 2, 0)
    assert outcomes["random"] == outcomes["kmeans"] == "picked"
    # the CLI: budget 1 writes a selection; budget 2 is refused
    out = data_root / "one_sel.csv"
    assert main(["select", "one", "--embedder", "pixels", "--budget", "1", "--out", str(out)]) == 0
    assert pd.read_csv(out)["id"].tolist() == ["only"]
    _cli_error(["select", "one", "--embedder", "pixels", "--budget", "2"], capsys,
               "budget=2 is larger than the pool (1 unlabeled images)", "choose a budget <= 1")
    # a run needs a test split: a clear error, and no run folder is written
    _cli_error(["run", "--dataset", "one", "--methods", "random", "--budgets", "1", "--seeds", "0"], capsys,
               "no test images")
    assert not (ds.dir / "runs").exists() or not any((ds.dir / "runs").iterdir())


def test_budget_larger_than_pool(blobs_with_cache, capsys):
    ds, cache, before = blobs_with_cache
    n_train = int((ds.splits == "train").sum())
    _cli_error(["select", "blobs", "--embedder", "pixels", "--budget", "1000"], capsys,
               f"budget=1000 is larger than the pool ({n_train} unlabeled images)",
               f"choose a budget <= {n_train}")
    _cli_error(["select", "blobs", "--selector", "random", "--budget", "0"], capsys, "choose a budget >= 1")
    assert main(["run", "--dataset", "blobs", "--methods", "random", "--budgets", "8", "--seeds", "0"]) == 0
    capsys.readouterr()
    runs_before = _digest(ds.dir / "runs")
    _cli_error(["run", "--dataset", "blobs", "--methods", "random,pixels:kmeans", "--budgets", "8,1000",
                "--seeds", "0"], capsys, "budget=1000 is larger than the pool", f"<= {n_train}")
    _cli_error(["run", "--dataset", "blobs", "--methods", "random", "--budgets", str(n_train - 4),
                "--rounds", "2", "--query-size", "4", "--seeds", "0"], capsys,
               "budgets[0] + rounds x query_size")
    assert _digest(ds.dir / "runs") == runs_before  # the finished run is untouched, nothing new
    assert _digest(cache) == before


# ---------------------------------------------------------------------------
# a labeled set with one class (case R18; R19, a one-class unit in a run, is in test_runs.py)
# ---------------------------------------------------------------------------
def test_one_class_labeled_set(blobs_with_cache):
    from coldstart.train.tasks import train_selection

    ds = blobs_with_cache[0]
    train = ds.split_indices("train")
    neg = train[ds.labels[train] == 0][:10]
    with pytest.raises(ColdstartError, match=r"no pneumothorax image.*'balanced'.*larger budget"):
        train_selection(ds, neg, task="probe", embedder="pixels")
    with pytest.raises(ColdstartError, match="no usable label"):
        train_selection(ds, neg, labels=np.full(len(neg), -1))
    # with both classes the same call trains (the refusal above is about the set, not the data)
    both = np.concatenate([neg, train[ds.labels[train] == 1][:3]])
    out = train_selection(ds, both, task="probe", embedder="pixels")
    assert 0.0 <= out.metrics["auroc"][0] <= 1.0


# ---------------------------------------------------------------------------
# run configs: unknown keys, missing / unavailable embedder (cases R20-R25)
# ---------------------------------------------------------------------------
def test_run_config_errors(blobs_with_cache, tmp_path, capsys):
    from coldstart.runs import RunConfig, start_run

    ds, cache, before = blobs_with_cache
    assert main(["run", "--dataset", "blobs", "--methods", "random", "--budgets", "8", "--seeds", "0"]) == 0
    capsys.readouterr()
    runs_before = _digest(ds.dir / "runs")

    with pytest.raises(ColdstartError, match=r"unknown run config key\(s\) \['epochz', 'seed'\]: valid keys"):
        RunConfig.from_dict(dict(dataset="blobs", seed=0, epochz=3))
    (tmp_path / "bad.yaml").write_text("dataset: blobs\nmethods: [random]\nbudgets: [8]\nbudgetz: [9]\n")
    _cli_error(["run", str(tmp_path / "bad.yaml")], capsys, "unknown run config key(s) ['budgetz']",
               "valid keys are")
    (tmp_path / "notyaml.yaml").write_text("dataset: [blobs\n  - : :\n")
    _cli_error(["run", str(tmp_path / "notyaml.yaml")], capsys, "is not valid YAML")
    (tmp_path / "list.yaml").write_text("- dataset\n- blobs\n")
    _cli_error(["run", str(tmp_path / "list.yaml")], capsys, "must be a mapping")
    _cli_error(["run", str(tmp_path / "missing.yaml")], capsys, "not found", "give a YAML run config")
    _cli_error(["run", "--dataset", "blobs", "--budgets", "8", "--set", "lr=1"], capsys)

    # an embedder that does not exist, and one whose weights are absent
    with pytest.raises(ColdstartError, match=r"embedder 'nope' is not available: .*pixels"):
        start_run(dict(dataset="blobs", methods=["nope:kmeans"], budgets=[8], seeds=[0]), background=False)
    err = _cli_error(["run", "--dataset", "blobs", "--methods", "txrv-densenet121:kmeans", "--budgets", "8",
                      "--seeds", "0"], capsys, "embedder 'txrv-densenet121' is not available")
    assert str(tmp_path / "weights") in err  # names the folder to put the weights file in
    _cli_error(["run", "--dataset", "blobs", "--methods", "pixels:nope", "--budgets", "8", "--seeds", "0"],
               capsys, "unknown selector 'nope'", "kmeans")
    _cli_error(["run", "--dataset", "../etc", "--methods", "random", "--budgets", "8"], capsys, "not allowed")
    _cli_error(["run", "--dataset", "nosuch", "--methods", "random", "--budgets", "8"], capsys, "nosuch")

    # the embed stage: unknown embedder lists the valid ones; missing weights name the file and folder
    _cli_error(["embed", "blobs", "--embedder", "nope"], capsys, "pixels")
    err = _cli_error(["embed", "blobs", "--embedder", "txrv-densenet121"], capsys, "txrv-densenet121")
    assert ".pt" in err or ".pth" in err or "weights" in err

    # nothing was written by any refused config; cached data and the finished run are intact
    assert _digest(ds.dir / "runs") == runs_before
    assert _digest(cache) == before
