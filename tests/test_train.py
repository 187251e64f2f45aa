"""Tasks train a few steps on tiny data; oracle and the AL step keep their promises."""

import numpy as np
import pandas as pd
import pytest

from coldstart import metrics as M
from coldstart.errors import ColdstartError
from coldstart.train import TaskInput, check_trainable, resolve_params, run_task
from coldstart.train.oracle import Oracle, OracleSettings, waste_summary


def _split(ds):
    tr, va, te = ds.split_indices("train"), ds.split_indices("val"), ds.split_indices("test")
    return tr, va, te


def test_probe_learns_blobs_and_metrics_match_sklearn(blob_dataset):
    from sklearn.metrics import average_precision_score

    ds = blob_dataset
    tr, va, te = _split(ds)
    X = ds.load_images(size=16).reshape(len(ds), -1)
    inp = TaskInput(ds, tr, ds.labels[tr], va, ds.labels[va], te, seed=0, features=X, score_idx=tr)
    out = run_task("probe", inp, resolve_params("probe", "quick"))
    p = out.predictions
    y = ds.labels[te]
    assert (p["y"].to_numpy() == y).all()
    assert out.metrics["ap"][0] == pytest.approx(average_precision_score(y, p["score"]))
    assert out.metrics["auroc"][0] > 0.8  # blobs are easy
    assert out.metrics["ap"][1] >= 0  # a bootstrap SE (exactly 0 when every resample is separated perfectly)
    assert out.metrics["auroc"][1] >= 0 and set(out.metrics) == {"ap", "auprc_trapz", "auroc", "f1"}
    thr = out.info["threshold"]
    assert ((p["score"] >= thr).astype(int) == p["pred"]).all()
    assert out.pool_probs.shape == (len(tr), 2)
    np.testing.assert_allclose(out.pool_probs.sum(1), 1, atol=1e-6)


def test_one_class_set_is_untrainable_with_reason(blob_dataset):
    ds = blob_dataset
    tr, va, te = _split(ds)
    pos = tr[ds.labels[tr] == 1][:5]
    assert check_trainable(ds.labels[pos], ds.classes) == "no normal image"
    inp = TaskInput(ds, pos, ds.labels[pos], va, ds.labels[va], te, features=np.zeros((len(ds), 3)))
    with pytest.raises(ColdstartError, match="no normal image.*balanced"):
        run_task("probe", inp, resolve_params("probe"))


def test_presets_refuse_unknown_override():
    with pytest.raises(ColdstartError, match="unknown training setting.*epochs"):
        resolve_params("classification", "quick", {"epoch": 3})
    assert resolve_params("classification", "paper")["size"] == 224
    assert resolve_params("segmentation", "paper")["lr"] == 1e-2


@pytest.mark.slow
def test_classification_vgg11_few_steps(blob_dataset, monkeypatch):
    import torch

    torch.set_num_threads(2)
    ds = blob_dataset
    tr, va, te = _split(ds)
    seen = []
    params = resolve_params("classification", "quick", {"size": 32, "epochs": 2, "device": "cpu",
                                                         "pretrained": "none"})
    assert params["head"] == "gap"
    inp = TaskInput(ds, tr[:20], ds.labels[tr[:20]], va, ds.labels[va], te, seed=0, score_idx=tr[20:25],
                    on_epoch=lambda e, n, info: seen.append((e, n)), n_bootstrap=20)
    if len(np.unique(inp.train_labels)) < 2:
        pytest.skip("fixture gave a one-class prefix")
    out = run_task("classification", inp, params)
    assert seen == [(1, 2), (2, 2)]
    assert out.info["weights"] == "random-init"  # the explicit choice pretrained=none
    y = ds.labels[te]
    assert out.metrics["auroc"][0] == pytest.approx(M.auroc(y, out.predictions["score"]))
    assert out.pool_probs.shape == (5, 2)
    # reproducible on CPU with the same seed
    out2 = run_task("classification", inp, params)
    np.testing.assert_allclose(out.predictions["score"], out2.predictions["score"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_segmentation_unet_few_steps_and_mask_check(blob_dataset, data_root):
    import torch

    from conftest import make_blob_dataset
    from coldstart.train.segmentation import check_masks

    torch.set_num_threads(2)
    ds = blob_dataset
    tr, va, te = _split(ds)
    params = resolve_params("segmentation", "quick", {"size": 32, "epochs": 2, "device": "cpu",
                                                       "pretrained": "none"})
    inp = TaskInput(ds, tr[:20], ds.labels[tr[:20]], va, ds.labels[va], te, seed=0, n_bootstrap=20)
    out = run_task("segmentation", inp, params)
    p = out.predictions
    # this test set keeps negatives (as include_negatives would): dice_all is reported beside the headline
    assert set(out.metrics) == {"dice", "hd_paper", "hd_surface", "hd95_surface", "dice_all"}
    assert out.metrics["dice"][0] == pytest.approx(np.nanmean(p["dice"][p["y"] == 1]))
    assert p["dice"][p["y"] == 0].isna().all() and p["hd_surface"].notna().sum() == (p["y"] == 1).sum()
    assert 0 <= out.metrics["dice"][0] <= 1
    nomask = make_blob_dataset("nomask", data_root, n=30, masks=False)
    with pytest.raises(ColdstartError, match="mask for every positive"):
        check_masks(nomask)


def test_oracle_noise_ood_ambiguous_are_seeded_and_counted():
    n = 2000
    labels = np.array([0, 1] * (n // 2))
    ood = np.zeros(n, bool)
    amb = np.zeros(n, bool)
    ood[:100] = True
    amb[100:200] = True
    o = Oracle(labels, ood, amb, ["normal", "pneumonia"], OracleSettings(noise=0.1), seed=3)
    a = o.annotate(np.arange(n))
    c = waste_summary(a)
    assert c["n_ood"] == 100 and c["n_wasted"] == 100 and c["n_ambiguous"] == 100
    rest = a.iloc[200:]
    flip = (rest["label"] != rest["true_label"]).mean()
    assert 0.07 < flip < 0.13
    # the same image gets the same answer whatever the order
    b = o.annotate(np.arange(n)[::-1]).iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # class-dependent: only normals are flipped
    o2 = Oracle(labels, np.zeros(n, bool), np.zeros(n, bool), ["normal", "pneumonia"],
                OracleSettings(noise_by_class={"normal": 0.5}), seed=0)
    a2 = o2.annotate(np.arange(n))
    assert (a2[a2.true_label == 1]["status"] == "ok").all()
    assert 0.4 < (a2[a2.true_label == 0]["status"] == "noisy").mean() < 0.6
    with pytest.raises(ColdstartError, match="ood_policy"):
        OracleSettings.from_dict({"ood_policy": "keep"})


@pytest.mark.parametrize("strategy", ["random", "least-confidence", "entropy"])
def test_al_step_grows_by_query_size_and_never_repicks(strategy):
    from coldstart.train.al import query

    if strategy != "random":
        pytest.importorskip("coldstart.select.uncertainty")
    rng = np.random.default_rng(0)
    n = 300
    p1 = rng.random(n)
    probs = np.stack([1 - p1, p1], 1)
    picked = rng.choice(n, 20, replace=False)
    for r in range(4):
        new = query(strategy, probs, picked, n, 20, seed=r)
        assert len(new) == 20 and not np.isin(new, picked).any()
        picked = np.concatenate([picked, new])
        assert len(picked) == 40 + 20 * r
    if strategy == "least-confidence":  # the most uncertain unlabeled images come first
        cand = np.setdiff1d(np.arange(n), picked[:-20])
        conf = probs.max(1)
        top = cand[np.argsort(conf[cand])[:20]]
        assert set(picked[-20:]) == set(top)
    with pytest.raises(ColdstartError, match="query_size"):
        query("random", None, np.arange(n - 5), n, 20)


def test_train_selection_interactive(blob_dataset):
    from coldstart.train import train_selection

    ds = blob_dataset
    tr = ds.split_indices("train")
    out = train_selection(ds, tr, task="probe", embedder="pixels", seed=0)
    assert out.metrics["auroc"][0] > 0.7
    pos = tr[ds.labels[tr] == 1]
    with pytest.raises(ColdstartError, match="no normal image.*balanced.*larger budget"):
        train_selection("blobs", pos, task="probe")
