"""Teaching-mode labeling sessions: order of images, saving, retraining, reveal, replay, compare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.label import LabelSession, compare_sessions, list_sessions, uncertainty


def blob_features(ds) -> np.ndarray:
    """Pixel features at 8 px: the blobs make positives separable."""
    return ds.load_images(None, 8).reshape(len(ds), -1)


@pytest.fixture
def feats(blob_dataset):
    return blob_features(blob_dataset)


def stored_labels(ds, name: str) -> pd.DataFrame:
    """The labels of session ``name`` as the store holds them (read with a fresh connection)."""
    import sqlite3

    from coldstart.classroom.store import store_path

    with sqlite3.connect(store_path(ds.dir.parent)) as c:
        return pd.read_sql("SELECT l.* FROM labels l JOIN sessions s ON s.id = l.session_id "
                           "WHERE s.dataset = ? AND s.name = ? ORDER BY step", c, params=(ds.name, name))


def truth_labeler(s, n):
    """Label n images as the session proposes them, with the ground truth."""
    for _ in range(n):
        nxt = s.next_item()
        s.add_label(nxt["index"], int(s.dataset.labels[nxt["index"]]))


def test_first_images_follow_coldstart_then_uncertainty(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "alice", feats, coldstart="random", n_coldstart=4, seed=3)
    first = [s.config.order[i] for i in range(4)]
    got = []
    for _ in range(4):
        nxt = s.next_item()
        assert nxt["source"] == "coldstart"
        got.append(nxt["index"])
        s.add_label(nxt["index"], int(blob_dataset.labels[nxt["index"]]))
    assert got == first
    assert set(got) <= set(blob_dataset.split_indices("train").tolist())
    # force two classes so a probe exists, then the next pick is the most uncertain image
    while len(np.unique(s.labels["label"])) < 2:
        nxt = s.next_item()
        s.add_label(nxt["index"], int(blob_dataset.labels[nxt["index"]]))
    nxt = s.next_item()
    assert nxt["source"] == "uncertainty"
    clf = s._fit()
    cand = np.setdiff1d(s.pool, s.labeled_rows())
    from coldstart.label import probe_scores
    u = uncertainty(probe_scores(clf, s.features[cand], 2), "least-confidence")
    assert np.isclose(nxt["uncertainty"], u.max())


def test_labels_saved_at_once_and_reopen(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "bob", feats, coldstart="random", n_coldstart=3)
    truth_labeler(s, 3)
    on_disk = stored_labels(blob_dataset, "bob")
    assert len(on_disk) == 3 and on_disk["step"].tolist() == [1, 2, 3]
    assert on_disk["id"].tolist() == [blob_dataset.ids[i] for i in on_disk["row"]]
    s2 = LabelSession.open(blob_dataset, "bob", feats)
    assert s2.labels.drop(columns=["mask_ok"]).equals(s.labels.drop(columns=["mask_ok"]))
    assert s2.next_item()["index"] == s.next_item()["index"]
    assert s2.undo()["step"] == 3
    assert len(stored_labels(blob_dataset, "bob")) == 2
    with pytest.raises(ColdstartError, match="already exists"):
        LabelSession.create(blob_dataset, "bob", feats)
    first, y0 = int(s2.labels["index"].iat[0]), int(s2.labels["label"].iat[0])
    with pytest.raises(ColdstartError, match="already labeled"):
        s2.add_label(first, 1 - y0)
    # the same label again (a double click) is saved once and returns the saved row
    assert s2.add_label(first, y0)["step"] == 1 and len(stored_labels(blob_dataset, "bob")) == 2
    with pytest.raises(ColdstartError, match="not a class"):
        s2.add_label(s2.next_item()["index"], 5)
    test_row = int(blob_dataset.split_indices("test")[0])
    with pytest.raises(ColdstartError, match="training pool"):
        s2.add_label(test_row, 0)


def test_curve_improves_with_truthful_labels_and_reveal(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "carol", feats, coldstart="random", n_coldstart=5, seed=1)
    truth_labeler(s, 16)
    c = s.curve()
    assert c["n_labels"].tolist() == list(range(1, 17))
    a = c["ap"].to_numpy()
    finite = a[np.isfinite(a)]
    prevalence = (s.y_test == 1).mean()
    assert len(finite) >= 5 and finite[-1] > prevalence + 0.2  # the blobs are learnable
    r = s.reveal()
    assert r["match"].all()
    # one deliberately wrong label shows up in the reveal
    nxt = s.next_item()
    s.add_label(nxt["index"], 1 - int(blob_dataset.labels[nxt["index"]]))
    r = s.reveal()
    assert not r["match"].iat[-1] and r["match"].iloc[:-1].all()
    assert s.summary()["agreement"] == pytest.approx(16 / 17)


def test_random_replay_cached_and_deterministic(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "dan", feats, coldstart="random", n_coldstart=3, seed=2)
    truth_labeler(s, 6)
    r6 = s.random_curve()
    assert r6["n_labels"].tolist() == list(range(1, 7))
    assert s.random_path.exists()
    r10 = s.random_curve(10)
    assert r10.iloc[:6].equals(r6)
    s.random_path.unlink()
    assert np.allclose(s.random_curve(10)["ap"], r10["ap"], equal_nan=True)


def test_list_and_compare_students(blob_dataset, feats):
    a = LabelSession.create(blob_dataset, "s1", feats, coldstart="random", n_coldstart=3, seed=0)
    b = LabelSession.create(blob_dataset, "s2", feats, coldstart="random", n_coldstart=3, seed=0, student="Bea")
    truth_labeler(a, 5)
    truth_labeler(b, 8)
    lst = list_sessions(blob_dataset)
    assert set(lst["name"]) == {"s1", "s2"}
    assert dict(zip(lst["name"], lst["labels"])) == {"s1": 5, "s2": 8}
    curves, summ = compare_sessions(blob_dataset, ["s1", "s2"], feats)
    assert set(curves["session"]) == {"s1", "s2", "random sampling"}
    assert (curves["session"] == "random sampling").sum() == 8
    assert summ.set_index("session").loc["s2", "student"] == "Bea"
    assert summ["labels"].tolist() == [5, 8]


def test_kmeans_coldstart_order(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "km", feats, coldstart="kmeans", n_coldstart=5, seed=0)
    s2 = LabelSession.create(blob_dataset, "km2", feats, coldstart="kmeans", n_coldstart=5, seed=0)
    assert s.config.order == s2.config.order
    assert len(set(s.config.order)) == len(s.pool)


def test_bad_inputs(blob_dataset, feats):
    with pytest.raises(ColdstartError, match="features have shape"):
        LabelSession.create(blob_dataset, "x", feats[:10])
    with pytest.raises(ColdstartError, match="strategy"):
        LabelSession.create(blob_dataset, "x", feats, strategy="vibes")
    with pytest.raises(ColdstartError, match="not allowed"):
        LabelSession.create(blob_dataset, "../evil", feats)
    with pytest.raises(ColdstartError, match="no labeling session"):
        LabelSession.open(blob_dataset, "nobody", feats)


def test_coldstart_picks_through_the_shared_selection_cache(blob_dataset, feats, monkeypatch):
    """With the embedding's cache key, the first picks come from (and go to) the shared selection cache."""
    import coldstart.select.cache as cache

    plain = LabelSession.create(blob_dataset, "plain", feats, coldstart="kmeans", n_coldstart=5, seed=1)
    s = LabelSession.create(blob_dataset, "cached", feats, coldstart="kmeans", n_coldstart=5, seed=1,
                            embedding_key="blob-px")
    assert s.config.order[:5] == plain.config.order[:5]  # kmeans z-scores itself: same picks
    assert len(list(blob_dataset.cache_dir("sel").glob("kmeans-*.parquet"))) == 1
    monkeypatch.setattr(cache, "select", lambda *a, **k: pytest.fail("recomputed a cached selection"))
    again = LabelSession.create(blob_dataset, "again", feats, coldstart="kmeans", n_coldstart=3, seed=1,
                                embedding_key="blob-px")
    assert again.config.order[:3] == s.config.order[:3]


def test_add_label_takes_the_callers_clock(blob_dataset, feats):
    s = LabelSession.create(blob_dataset, "clock", feats, coldstart="random", n_coldstart=2)
    row = s.add_label(s.next_item()["index"], 0, seconds=7.25)
    assert row["seconds"] == 7.25
    assert list(s.export_columns().columns) == ["source", "ap_after", "session"]


def test_waiting_for_classes_says_what_the_model_needs():
    from coldstart.label.probe import waiting_for_classes

    classes = ["normal", "pneumothorax"]
    assert "No labels yet" in waiting_for_classes([], classes)
    msg = waiting_for_classes([0, 0, 0], classes)
    assert "All 3 labels so far are 'normal'" in msg and "'pneumothorax'" in msg and "both classes" in msg
    assert waiting_for_classes([0, 1], classes) is None
    assert waiting_for_classes([0], ["only"]) is None


def test_pick_orders_compare_a_students_labels_with_the_suggestions(blob_dataset, feats):
    from coldstart.label.sessions import pick_orders
    from coldstart.select.strata import stratum_coverage

    s = LabelSession.create(blob_dataset, "strata", feats, coldstart="kmeans", n_coldstart=6, seed=0)
    truth_labeler(s, 4)
    orders = pick_orders(s)
    assert list(orders) == ["your labels", "kmeans suggestions", "random picks"]
    assert all(len(o) == 4 for o in orders.values())
    # following the suggestions, the student's first labels are the suggestions, as pool positions
    assert orders["your labels"].tolist() == orders["kmeans suggestions"].tolist()
    assert s.pool[orders["your labels"]].tolist() == s.labeled_rows().tolist()
    # the random reference is the same order the random curve trains on
    assert s.pool[orders["random picks"]].tolist() == s.random_order()[:4].tolist()
    labels = blob_dataset.labels[s.pool].astype(str)
    t = stratum_coverage(labels, orders["your labels"], 4)
    assert int(t["picks"].sum()) == 4
