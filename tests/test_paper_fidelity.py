"""Faithful to Yuan & Hong where the code says so: segmentation protocol, training details, AL rounds."""

import numpy as np
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, start_run
from coldstart.train import resolve_params


def _cfg(**kw):
    d = dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[8], seeds=[0],
             n_bootstrap=10)
    d.update(kw)
    return RunConfig.from_dict(d)


# ---- segmentation protocol -------------------------------------------------------
def _disc_masks(n=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, size, size), bool)
    for i in range(n):
        cx, cy = rng.integers(8, 24, 2)
        out[i] = (xx - cx) ** 2 + (yy - cy) ** 2 < 16
    return out


def test_a_model_predicting_nothing_scores_dice_zero_and_the_diagonal():
    from coldstart.train.segmentation import evaluate_masks

    Y = _disc_masks()
    mets, preds = evaluate_masks(np.zeros_like(Y), Y, np.arange(len(Y)), n_bootstrap=10)
    assert mets["dice"][0] == 0.0
    assert mets["hd_surface"][0] == pytest.approx(np.hypot(32, 32))  # never NaN-dropped
    assert mets["hd95_surface"][0] == pytest.approx(np.hypot(32, 32))
    assert "dice_all" not in mets  # the paper's cohort: positives only
    perfect, _ = evaluate_masks(Y, Y, np.arange(len(Y)), n_bootstrap=10)
    assert perfect["dice"][0] == 1.0 and perfect["hd_surface"][0] == 0.0


def test_other_protocol_shows_why_negatives_inflate_dice():
    """With 3 negatives for 1 positive, 'nothing' scores 0.75 on dice_all but 0 on the headline."""
    from coldstart.train.segmentation import evaluate_masks

    Y = np.zeros((8, 32, 32), bool)
    Y[:2] = _disc_masks(2)
    mets, preds = evaluate_masks(np.zeros_like(Y), Y, np.arange(8), n_bootstrap=10)
    assert mets["dice"][0] == 0.0
    assert mets["dice_all"][0] == pytest.approx(0.75)
    assert preds["dice"].isna().sum() == 6 and preds["dice_all"].notna().all()


def test_cohort_keeps_positives_unless_include_negatives(blob_dataset):
    from coldstart.train.segmentation import cohort

    ds = blob_dataset
    tr = ds.split_indices("train")
    assert (ds.labels[cohort(ds, tr)] == 1).all() and len(cohort(ds, tr)) == int((ds.labels[tr] == 1).sum())
    assert (cohort(ds, tr, include_negatives=True) == tr).all()
    assert resolve_params("segmentation", "paper")["include_negatives"] is False


@pytest.mark.slow
def test_segmentation_run_pool_and_test_hold_positives_only(blob_dataset):
    train = {"size": 32, "epochs": 1, "device": "cpu", "pretrained": "none"}
    cfg = _cfg(task="segmentation", methods=["random"], budgets=[4], train=train)
    st = RunStore("blobs", start_run(cfg, background=False))
    r = st.results()
    assert set(r["metric"]) == {"dice", "hd_paper", "hd_surface", "hd95_surface"}
    unit = r["unit"].iloc[0]
    pred = st.predictions(unit)
    assert (pred["y"] == 1).all()
    assert (blob_dataset.labels[st.selection("random", 0)["index"]] == 1).all()
    assert r["weights"].iloc[0] == "random-init"
    cfg2 = _cfg(task="segmentation", methods=["random"], budgets=[4], train=dict(train, include_negatives=True))
    st2 = RunStore("blobs", start_run(cfg2, background=False))
    assert "dice_all" in set(st2.results()["metric"])
    assert (st2.predictions(unit)["y"] == 0).any()


# ---- training details ------------------------------------------------------------------
def test_paper_preset_is_the_papers():
    for task, lr in (("classification", 1e-3), ("segmentation", 1e-2)):
        p = resolve_params(task, "paper")
        assert (p["epochs"], p["batch_size"], p["lr"], p["momentum"]) == (100, 10, lr, 0.9)
        assert (p["lr_patience"], p["lr_factor"], p["normalize"], p["pretrained"]) == (10, 0.5, "none", "imagenet")
    with pytest.raises(ColdstartError, match="'auto' was removed.*imagenet, none"):
        resolve_params("classification", "quick", {"pretrained": "auto"})
    with pytest.raises(ColdstartError, match="normalize"):
        resolve_params("classification", "quick", {"normalize": "zscore"})


def test_pixels_divided_by_255_without_imagenet_normalisation():
    from coldstart.train.torchloop import to_input

    x = np.random.default_rng(0).random((2, 1, 4, 4)).astype(np.float32)
    t = to_input(x, "cpu", False, "none").numpy()
    assert t.shape == (2, 3, 4, 4) and np.allclose(t[:, 1], x[:, 0])
    assert not np.allclose(to_input(x, "cpu", False, "imagenet").numpy()[:, 1], x[:, 0])


@pytest.mark.parametrize("patience", [10, 3])
def test_lr_halves_after_exactly_lr_patience_epochs_without_improvement(patience):
    import torch

    from coldstart.train.torchloop import plateau_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = plateau_scheduler(opt, {"lr_patience": patience, "lr_factor": 0.5})
    sched.step(1.0)  # the best epoch
    lrs = []
    for _ in range(patience + 1):
        sched.step(0.5)  # no improvement
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[patience - 2 if patience > 1 else 0] == 1.0 and lrs[patience - 1] == 0.5


def test_missing_pretrained_file_is_never_silent(data_root):
    from coldstart.train.torchloop import pretrained_notice, resolve_pretrained, weights_footnote
    import pandas as pd

    with pytest.raises(ColdstartError, match="vgg11-8a719046.pth was not found.*pretrained=none"):
        resolve_pretrained("imagenet")
    assert resolve_pretrained("none") == (None, "random-init")
    assert "missing" in pretrained_notice("classification", resolve_params("classification", "paper"))
    assert "random initialisation" in pretrained_notice("segmentation", {"pretrained": "none"})
    assert pretrained_notice("probe", {}) is None
    foot = weights_footnote(pd.DataFrame({"weights": ["random-init", "random-init", ""]}))
    assert foot == "Initial weights: random initialisation (no pretrained file)."


def test_run_with_missing_weights_is_refused_before_any_work(blob_dataset):
    cfg = _cfg(task="classification", train={"size": 16, "epochs": 1})
    with pytest.raises(ColdstartError, match="pretrained='imagenet'.*not found"):
        start_run(cfg, background=False)


# ---- AL rounds ------------------------------------------------------------------------
def test_threshold_strategy_centres_on_the_run_threshold():
    from coldstart.train.al import query

    p1 = np.linspace(0, 1, 101)
    probs = np.stack([1 - p1, p1], 1)
    new = query("threshold", probs, [], 101, 5, threshold=0.2)
    assert set(new) == {18, 19, 20, 21, 22}
    assert set(query("threshold", probs, [], 101, 1, threshold=None)) == {50}


def test_default_strategy_follows_the_preset_and_methods_are_cold_start_only(blob_dataset):
    assert _cfg(rounds=1, preset="paper").strategy == "threshold"
    assert _cfg(rounds=1).strategy == "least-confidence"
    with pytest.raises(ColdstartError, match="'entropy' is an active-learning round strategy.*rounds' strategy"):
        _cfg(methods=["random", "pixels:entropy"]).validate()


def test_default_methods_of_the_paper_preset_use_the_papers_protocol():
    from coldstart.train.presets import default_methods

    assert RunConfig.from_dict({"dataset": "blobs", "preset": "paper"}).methods == ["random", "pixels:kmeans-paper"]
    assert RunConfig.from_dict({"dataset": "blobs"}).methods == ["random", "pixels:kmeans"]

    sels = ["kmeans", "kmeans-paper", "typiclust", "probcover", "coreset"]
    m = default_methods(["pixels", "txrv-densenet121"], sels, "paper", ["txrv-densenet121"])
    assert m[:3] == ["random", "pixels:kmeans-paper", "txrv-densenet121:kmeans-paper"] and len(m) == 6
    assert default_methods(["pixels"], sels, "quick")[1] == "pixels:kmeans"


def test_bald_is_refused_where_there_is_no_dropout():
    with pytest.raises(ColdstartError, match="bald.*logistic regression"):
        _cfg(rounds=1, strategy="bald")
    with pytest.raises(ColdstartError, match="bald.*U-Net"):
        _cfg(task="segmentation", rounds=1, strategy="bald")
    with pytest.raises(ColdstartError, match="bald.*head='gap'.*head=paper"):
        _cfg(task="classification", rounds=1, strategy="bald")
    assert _cfg(task="classification", rounds=1, strategy="bald", train={"head": "paper"}).strategy == "bald"


def test_mc_dropout_samples_differ_and_are_seeded():
    import torch

    from coldstart.train.classification import build_vgg11, mc_dropout_probs

    torch.manual_seed(0)
    model, label = build_vgg11(2, "none", "paper")
    X = np.random.default_rng(0).random((3, 1, 32, 32)).astype(np.float32)
    params = {"normalize": "none"}
    a = mc_dropout_probs(model, X, "cpu", params, 4, seed=1)
    b = mc_dropout_probs(model, X, "cpu", params, 4, seed=1)
    assert a.shape == (4, 3, 2) and np.allclose(a.sum(-1), 1, atol=1e-5)
    assert np.array_equal(a, b)
    assert a.std(0).max() > 0  # dropout was on
    assert not model.training and not model.classifier.training


def test_ood_filter_keeps_outliers_out_of_the_query():
    from coldstart.train.al import ood_filtered, query

    rng = np.random.default_rng(0)
    F = rng.normal(size=(200, 8))
    F[:20] += 30  # 10% far-away OOD images
    p1 = np.full(200, 0.9)
    p1[:20] = 0.5  # ... which uncertainty sampling loves
    probs = np.stack([1 - p1, p1], 1)
    plain = query("least-confidence", probs, [], 200, 10)
    assert (plain < 20).all()
    new = query("least-confidence", probs, [], 200, 10, ood_filter=0.1, ood_features=F)
    assert not (new < 20).any()
    assert np.array_equal(ood_filtered(np.arange(200), 0.1, F), np.arange(20))  # exactly the outliers
    with pytest.raises(ColdstartError, match="ood_filter needs an embedding"):
        query("margin", probs, [], 200, 10, ood_filter=0.1)


def test_balanced_round_balances_predicted_classes():
    from coldstart.train.al import known_labels, query

    rng = np.random.default_rng(0)
    F = rng.normal(size=(300, 6))
    p1 = np.where(np.arange(300) < 30, 0.9, 0.1)  # a rare predicted class
    probs = np.stack([1 - p1, p1], 1)
    picked = np.arange(30, 40)  # ten labeled negatives
    labels = known_labels(np.zeros(10, int), picked, 300)
    new = query("balanced", probs, picked, 300, 10, features=F, labels=labels)
    assert not np.isin(new, picked).any()
    assert (new < 30).sum() == 10  # the rare class catches up first


@pytest.mark.parametrize("strategy", ["threshold", "balanced"])
def test_probe_run_with_rounds_and_ood_filter(blob_dataset, strategy):
    cfg = _cfg(rounds=2, query_size=4, strategy=strategy, ood_filter=0.1, cold_start=False)
    st = RunStore("blobs", start_run(cfg, background=False))
    r = st.results()
    assert st.status() == "finished"
    assert set(r["strategy"]) == {strategy} and sorted(r["budget"].unique()) == [8, 12, 16]


@pytest.mark.slow
def test_bald_run_end_to_end_with_mc_dropout(blob_dataset):
    train = {"size": 32, "epochs": 1, "device": "cpu", "pretrained": "none", "head": "paper", "mc_samples": 3}
    cfg = _cfg(task="classification", methods=["random"], budgets=[12], rounds=1, query_size=4, strategy="bald",
               cold_start=False, train=train)
    st = RunStore("blobs", start_run(cfg, background=False))
    assert st.status() == "finished", st.events()
    state = np.load(next((st.dir / "state").glob("*r0.npz")))
    assert state["mc_probs"].shape[0] == 3 and "threshold" in state.files
    assert sorted(st.results()["budget"].unique()) == [12, 16]


@pytest.mark.slow
def test_cli_warns_about_random_initialisation_and_report_names_the_weights(blob_dataset, capsys):
    from coldstart.cli import main

    rc = main(["run", "--dataset", "blobs", "--task", "classification", "--methods", "random", "--budgets", "12",
               "--seeds", "0", "--set", "pretrained=none", "--set", "size=32", "--set", "epochs=1",
               "--set", "device=cpu"])
    out = capsys.readouterr()
    assert rc == 0 and "warning: training starts from random initialisation" in out.err
    run_id = out.out.split("run id: ")[1].split()[0]
    assert main(["report", run_id]) == 0
    assert "Initial weights: random initialisation (no pretrained file)." in capsys.readouterr().out


@pytest.mark.slow
def test_interactive_segmentation_training_uses_the_positive_cohort(blob_dataset):
    from coldstart.train import train_selection

    ds = blob_dataset
    tr = ds.split_indices("train")[:16]
    out = train_selection(ds, tr, task="segmentation", size=32, epochs=1, pretrained="none", device="cpu")
    assert (out.predictions["y"] == 1).all() and set(out.metrics) == {"dice", "hd_paper", "hd_surface", "hd95_surface"}
    out2 = train_selection(ds, tr, task="segmentation", size=32, epochs=1, pretrained="none", device="cpu",
                           include_negatives=True)
    assert (out2.predictions["y"] == 0).any() and "dice_all" in out2.metrics
