"""The notebook API: the lines shown in docs/notebook.md run as written."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DOC = Path(__file__).resolve().parents[1] / "docs" / "notebook.md"


def _python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/notebook.md has no python block"
    return blocks


def _first_python_block() -> str:
    return _python_blocks()[0]


def _make_folder(path: Path, n: int = 90, size: int = 48, seed: int = 0) -> None:
    """Two classes that a probe on pixels can tell apart: a bright disc on the left or the right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for k in range(n):
        cls = "pneumonia" if k % 3 == 0 else "normal"
        cx = size * (0.3 if cls == "normal" else 0.7) + rng.normal(0, 2)
        img = 60 + 120 * (((xx - cx) ** 2 + (yy - size / 2) ** 2) < (size / 6) ** 2) + rng.normal(0, 15, (size, size))
        (path / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path / cls / f"img{k:03d}.png")


def test_notebook_lines_run_as_documented(data_root, tmp_path, monkeypatch):
    code = _first_python_block()
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 6, "the notebook path must stay about five lines"
    _make_folder(tmp_path / "chest_xrays")
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    *body, last = [ln for ln in code.splitlines() if ln.strip()]
    exec("\n".join(body), ns)
    table = eval(last.split("#")[0], ns)

    ds, picks = ns["ds"], ns["picks"]
    # picks are dataset rows from the train split, nested and unique
    assert len(picks.indices) == 20 and len(set(picks.indices.tolist())) == 20
    assert set(ds.manifest["split"].iloc[picks.indices]) == {"train"}
    # the table holds the probe's test metrics with standard errors; the disc side is learnable
    assert {"ap", "auroc"} <= set(table["metric"])
    auroc = table.set_index("metric").loc["auroc", "value"]
    assert 0.8 < auroc <= 1.0
    assert (table["se"] >= 0).all()


def test_train_takes_features_or_an_embedder_not_both(data_root, tmp_path):
    import coldstart as cs
    from coldstart.errors import ColdstartError

    _make_folder(tmp_path / "pool")
    ds = cs.import_folder(tmp_path / "pool", "nb")
    X = cs.embedding(ds, "pixels")
    picks = cs.pick(ds, "random", budget=30, seed=1)
    by_name = cs.train_on(ds, picks, embedder="pixels").metrics
    by_array = cs.train_on(ds, picks, features=X).metrics
    assert by_name.keys() == by_array.keys()
    for k in by_name:
        assert by_name[k] == pytest.approx(by_array[k], nan_ok=True)
    with pytest.raises(ColdstartError, match="both embedder= and features="):
        cs.train_on(ds, picks, embedder="pixels", features=X)
    with pytest.raises(ColdstartError, match="one row per image"):
        cs.train_on(ds, picks, features=X[:5])


def test_pick_with_features_runs_as_documented(data_root, tmp_path, monkeypatch):
    """The doc's own-features block: cs.pick(ds, selector, features=X) picks what embedder= picks."""
    import coldstart as cs
    from coldstart.errors import ColdstartError

    block = next(b for b in _python_blocks() if "cs.pick(ds" in b and "features=X" in b)
    _make_folder(tmp_path / "chest_xrays")
    ns: dict = {"cs": cs, "ds": cs.import_folder(tmp_path / "chest_xrays", "nbf")}
    exec(block, ns)
    ds, picks = ns["ds"], ns["picks"]
    by_name = cs.pick(ds, "kmeans", embedder="pixels", budget=20)
    np.testing.assert_array_equal(picks.indices, by_name.indices)
    assert set(ds.manifest["split"].iloc[picks.indices]) == {"train"}
    assert "ap" in ns["result"].metrics
    with pytest.raises(ColdstartError, match="both embedder= and features="):
        cs.pick(ds, "kmeans", embedder="pixels", features=ns["X"])
    with pytest.raises(ColdstartError, match="shape"):
        cs.pick(ds, "kmeans", features=ns["X"][:5])
    with pytest.raises(ColdstartError, match="or features="):
        cs.pick(ds, "kmeans")
