"""The paper's numbers (issue 21): the paper's Hausdorff distance, the authors' score, SE and random draws,
explicit presets, and a paper-preset report naming every column, preset, seeds and SE definition."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from coldstart import metrics as M
from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, report_table, start_run
from coldstart.train.presets import PRESETS, RANDOM_DRAWS, TRAINING_PARAMS, resolve_params
from conftest import SHARED_DATA


# ---- 1. the paper's Hausdorff distance ------------------------------------------------------
def _brute_rows_hd(a, b):
    """py-hausdorff's hausdorff_distance written out: rows are points, Euclidean, symmetric max-min."""
    a, b = a.astype(float), b.astype(float)
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return max(d.min(1).max(), d.min(0).max())


def test_hd_paper_by_hand_on_two_small_masks_and_an_empty_prediction():
    a = np.zeros((224, 224), bool)
    a[10, :3] = True  # row 10 = e0 + e1 + e2
    b = np.zeros((224, 224), bool)
    b[10, :2] = True  # row 10 = e0 + e1 (distance 1 from a's row 10)
    b[50, 100:104] = True  # row 50: 4 ones, nearest row of a is an empty one: distance 2
    assert M.hd_paper(a, b) == pytest.approx(2.0)
    assert M.hd_paper(b, a) == pytest.approx(2.0)
    # an empty prediction: its rows are all zero; b's rows are sqrt(2) and 2 from zero, b has empty rows
    assert M.hd_paper(np.zeros_like(b), b) == pytest.approx(2.0)
    # a full mask against an empty one reaches the bound sqrt(224): never a pixel distance
    assert M.hd_paper(np.zeros_like(b), np.ones_like(b)) == pytest.approx(np.sqrt(224))
    assert M.hd_paper(b, b) == 0.0


def test_hd_paper_matches_the_row_definition_and_resizes_to_224():
    rng = np.random.default_rng(0)
    a = rng.random((224, 224)) < 0.05
    b = rng.random((224, 224)) < 0.05
    assert M.hd_paper(a, b) == pytest.approx(_brute_rows_hd(a, b))
    small = np.zeros((112, 112), bool)
    small[20:30, 40:50] = True  # nearest-neighbour x2: rows of 20 ones, 20 of them
    big = np.zeros((224, 224), bool)
    big[40:60, 80:100] = True
    assert M.hd_paper(small, np.zeros((112, 112), bool)) == pytest.approx(np.sqrt(20))
    assert M.hd_paper(small, big) == pytest.approx(0.0)


def test_segmentation_scores_name_each_hausdorff():
    y = np.zeros((2, 32, 32), bool)
    y[:, 8:16, 8:16] = True
    sc = M.segmentation_scores(np.zeros_like(y), y)
    assert set(sc) == {"dice", "hd_paper", "hd_surface", "hd95_surface", "positive"}
    assert sc["hd_surface"][0] == pytest.approx(np.hypot(32, 32))  # pixels: the image diagonal
    assert sc["hd_paper"][0] < np.sqrt(224)  # rows of the 224 x 224 mask
    assert "paper" in M.metric_label("hd_paper") and "paper" not in M.metric_label("hd_surface")
    assert M.metric_label("hausdorff") == M.metric_label("hd_surface") == "surface HD (px)"  # old runs
    assert {"hd_paper", "hd_surface", "hd95_surface"} <= M.LOWER_IS_BETTER


# ---- 4. the classifier's score -------------------------------------------------------------
def test_sigmoid_score_is_the_class1_logit_and_ranks_differently_from_softmax():
    torch = pytest.importorskip("torch")
    from coldstart.train.classification import score_head

    lg = torch.tensor([[0.0, 1.0], [3.0, 3.5]])
    sig, soft = score_head("sigmoid")(lg), score_head("softmax")(lg)
    assert sig == pytest.approx(1 / (1 + np.exp(-np.array([1.0, 3.5]))))
    assert soft == pytest.approx(np.exp([1.0, 3.5]) / (np.exp([0.0, 3.0]) + np.exp([1.0, 3.5])))
    assert np.argsort(sig).tolist() != np.argsort(soft).tolist()


def test_paper_preset_uses_the_authors_choices_and_quick_labels_its_own():
    cls, seg = resolve_params("classification", "paper"), resolve_params("segmentation", "paper")
    assert (cls["score"], cls["se"], seg["size"], seg["se"]) == ("sigmoid", "ci95", 224, "ci95")
    q = resolve_params("classification", "quick")
    assert (q["score"], q["se"]) == ("softmax", "sd")
    assert RANDOM_DRAWS == {"paper": 10, "quick": 1}


# ---- 6. the authors' bootstrap SE ----------------------------------------------------------------
def test_ci95_se_is_the_authors_percentile_width():
    d = np.random.default_rng(1).normal(0.5, 0.1, 100)
    lo, hi = np.percentile(d, [2.5, 97.5])
    assert M.se_of_draws(d, "ci95") == pytest.approx((hi - lo) / 3.92)
    assert M.se_of_draws(d, "sd") == pytest.approx(np.std(d, ddof=1))
    y = np.r_[np.zeros(30), np.ones(10)]
    s = np.random.default_rng(2).random(40) + y * 0.3
    assert M.bootstrap_se("ap", y, s, 100, 0, "ci95") != M.bootstrap_se("ap", y, s, 100, 0, "sd")
    with pytest.raises(ValueError, match="se kind 'var'"):
        M.se_of_draws(d, "var")


# ---- 24.3: every training setting declared; a bad value names it -----------------------------------
def _bad(p):
    if p.type is bool:
        return "yes"
    if p.type is str:
        return "nope" if p.choices else 3
    if p.low is not None:
        return p.low if p.low_open else p.low - 1
    return float("inf")


@pytest.mark.parametrize("name", sorted(TRAINING_PARAMS))
def test_a_bad_value_of_each_training_setting_names_it(name):
    task = next(t for t in ("classification", "segmentation", "probe") if name in PRESETS["paper"][t])
    with pytest.raises(ColdstartError, match=rf"^{name}=.*(must|choose)"):
        resolve_params(task, "paper", {name: _bad(TRAINING_PARAMS[name])})


def test_every_preset_setting_is_declared_and_param_lives_in_params():
    from coldstart.params import Param
    from coldstart.select.base import Param as SelectorParam

    assert SelectorParam is Param
    for preset in PRESETS.values():
        for task, settings in preset.items():
            assert set(settings) <= set(TRAINING_PARAMS), (task, set(settings) - set(TRAINING_PARAMS))
            resolve_params(task, "paper" if preset is PRESETS["paper"] else "quick")  # defaults are valid
    with pytest.raises(ColdstartError, match=r"epochs=2.5 .*must be an integer .*default 8"):
        resolve_params("classification", "quick", {"epochs": 2.5})


# ---- 2. no silent preset ----------------------------------------------------------------------------
def test_seeds_left_unset_follow_the_preset(blob_dataset):
    """The paper's network runs default to its single seed 2024, from the CLI's config too;
    the probe and the quick preset to 0..4; given seeds are kept."""
    def seeds(**d):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RunConfig.from_dict(dict(dataset="blobs", methods=["random"], **d)).seeds
    assert seeds(task="classification", preset="paper") == [2024]
    assert seeds(task="segmentation", preset="paper") == [2024]
    assert seeds(task="classification", preset="quick") == [0, 1, 2, 3, 4]
    assert seeds(task="probe", preset="paper") == [0, 1, 2, 3, 4]
    assert seeds(task="classification", preset="paper", seeds=[3]) == [3]


def test_a_run_naming_no_preset_says_once_which_it_got(blob_dataset):
    from coldstart.runs.config import PresetNotice

    base = dict(dataset="blobs", methods=["random"], budgets=[8], seeds=[0])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cfg = RunConfig.from_dict(dict(base, task="classification"))
        RunConfig.from_dict(dict(base, task="probe"))
        RunConfig.from_dict(dict(base, task="segmentation", preset="paper"))
    notes = [x for x in w if issubclass(x.category, PresetNotice)]
    assert len(notes) == 1 and "preset quick" in str(notes[0].message) and "--preset paper" in str(notes[0].message)
    assert cfg.preset == "quick" and json.loads(cfg.to_json())["preset"] == "quick"
    assert cfg.train == resolve_params("classification", "quick")  # every setting pinned into config.json
    assert cfg.train["se"] == "sd" and cfg.selector_params["random"]["draws"] == 1
    paper = RunConfig.from_dict(dict(base, task="probe", preset="paper"))
    assert paper.selector_params["random"]["draws"] == 10 and paper.train["se"] == "ci95"
    with pytest.raises(ColdstartError, match=r"draws=0 must be >= 1"):
        RunConfig.from_dict(dict(base, task="probe", selector_params={"random": {"draws": 0}}))


# ---- 3. random as the authors drew it ------------------------------------------------------------------
def test_random_draws_are_trained_and_pooled(blob_dataset):
    from coldstart.select.random_ import draw_seed

    common = dict(dataset="blobs", task="probe", methods=["random"], budgets=[12], n_bootstrap=20)
    pooled = RunStore("blobs", start_run(RunConfig.from_dict(dict(
        common, seeds=[0], selector_params={"random": {"draws": 3}})), background=False))
    one_each = RunStore("blobs", start_run(RunConfig.from_dict(dict(
        common, seeds=[draw_seed(0, j) for j in range(3)])), background=False))
    r, s = pooled.results(), one_each.results()
    ap = r[r["metric"] == "ap"].iloc[0]
    assert ap["n_draws"] == 3 and np.isfinite(ap["se"])
    # the probe's labels and fit do not depend on the run seed: draw j equals a one-draw run of seed draw_seed(0, j)
    assert ap["value"] == pytest.approx(s[s["metric"] == "ap"]["value"].mean())
    assert len(list((pooled.dir / "selections").glob("random__s0*.parquet"))) == 3
    assert "random: 3 draws per seed and budget, pooled" in report_table(r, "ap", "text", pooled.raw_config)


def test_random_draws_keep_the_first_draws_per_stratum_rows(blob_dataset):
    ds = blob_dataset
    m = ds.manifest
    m["subgroup"] = np.where(ds.labels == 1, np.where(np.arange(len(m)) % 2 == 0, "a", "b"), "normal")
    m.to_parquet(ds.dir / "manifest.parquet")
    st = RunStore("blobs", start_run(RunConfig.from_dict(dict(
        dataset="blobs", task="probe", methods=["random"], budgets=[12], seeds=[0], strata="subgroup",
        n_bootstrap=20, selector_params={"random": {"draws": 2}})), background=False))
    r = st.results()
    assert set(r["stratum"]) == {"all", "a", "b"}
    assert (r.loc[r["stratum"] == "all", "n_draws"] == 2).all() and (r.loc[r["stratum"] != "all", "n_draws"] == 1).all()


# ---- the report names the preset, seeds, SE and every column ---------------------------------------------
def test_report_header_names_preset_seeds_and_se(blob_dataset):
    st = RunStore("blobs", start_run(RunConfig.from_dict(dict(
        dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[12], seeds=[2024],
        preset="paper", n_bootstrap=20, selector_params={"random": {"draws": 2}})), background=False))
    text = report_table(st.results(), None, "text", st.raw_config, st.run_id)
    assert "preset paper" in text and "seeds 2024" in text
    assert "SE (ci95): the authors' (P97.5 - P2.5) / 3.92" in text and "20 bootstrap resamples" in text
    for label in ("AUPRC (average precision) [ap]", "AUPRC (trapezoid, the paper's) [auprc_trapz]", "F1"):
        assert label in text


CXD_DIR = SHARED_DATA / "chestx-det"


@pytest.mark.slow
@pytest.mark.skipif(not (CXD_DIR / "ChestX_Det_train.json").exists(), reason="shared ChestX-Det annotations not found")
def test_paper_preset_on_chestx_det_reports_every_named_column(tmp_path, data_root, capsys):
    """`coldstart run --preset paper` on a ChestX-Det import (the shared annotations, stand-in images):
    AUPRC (AP and trapezoid) and F1 for classification, DSC, the paper's HD and the surface HD for
    segmentation, each named, with preset, seeds and SE definition in the header."""
    from PIL import Image

    from coldstart.cli import main
    from coldstart.data.importers import import_chestx_det
    from coldstart.data.importers.chestx_det import load_records

    recs = load_records([CXD_DIR / "ChestX_Det_train.json"])
    neg = [r for r, _ in recs if r["syms"] == []][:30]
    pos = [r for r, _ in recs if "Pneumothorax" in r["syms"]][:30]
    (tmp_path / "sub_train.json").write_text(json.dumps(neg + pos))
    img = tmp_path / "img"
    img.mkdir()
    for i, r in enumerate(neg + pos):
        Image.fromarray(np.roll(np.tile(np.arange(64, dtype=np.uint8) * 3, (64, 1)), i, axis=1)).save(
            img / r["file_name"])
    import_chestx_det([tmp_path / "sub_train.json"], img, "cxd", seed=0)
    (tmp_path / "run.yaml").write_text("selector_params: {random: {draws: 2}}\nn_bootstrap: 20\n")
    tiny = ["--set", "size=32", "--set", "epochs=1", "--set", "pretrained=none", "--set", "device=cpu"]
    want = {"classification": ("AUPRC (average precision) [ap]", "AUPRC (trapezoid, the paper's) [auprc_trapz]",
                               "F1 (at the validation Youden threshold) [f1]"),
            "segmentation": ("DSC (Dice, images with a finding) [dice]", "HD, the paper's", "[hd_paper]",
                             "surface HD (px) [hd_surface]", "surface HD95 (px) [hd95_surface]")}
    for task, labels in want.items():
        extra = ["--set", "head=gap"] if task == "classification" else []
        assert main(["run", str(tmp_path / "run.yaml"), "--dataset", "cxd", "--task", task, "--preset", "paper",
                     "--methods", "random", "--budgets", "12", "--seeds", "2024", *tiny, *extra]) == 0
        out = capsys.readouterr().out
        assert out.startswith("preset paper (the paper's protocol)")
        run_id = out.split("run id: ")[1].split()[0]
        assert main(["report", run_id]) == 0
        rep = capsys.readouterr().out
        assert f"task {task}, preset paper, 32 px, 1 epochs" in rep and "; seeds 2024" in rep
        assert ("score sigmoid" in rep) == (task == "classification")
        assert "SE (ci95)" in rep and "(P97.5 - P2.5) / 3.92" in rep
        for label in labels:
            assert label in rep, (label, rep)


# ---- 24.2: errors carry a kind; the advice is looked up by it ------------------------------------------
def test_error_kinds_drive_the_advice(blob_dataset):
    from coldstart.errors import BudgetError, MissingWeightsError, error_kind
    from coldstart.io import append_jsonl
    from coldstart.runs.runner import create_run
    from coldstart.ui.runs_view import error_advice

    assert [error_kind(e) for e in (MissingWeightsError("x"), BudgetError("x"), ColdstartError("x"),
                                    MemoryError(), KeyError("x"))] == ["weights", "budget", "input", "memory", "internal"]
    assert "weights file" in error_advice("weights") and "smaller budgets" in error_advice("budget")
    assert "out of memory" in error_advice(None, "... Killed") and "Resume" in error_advice("input")
    with pytest.raises(BudgetError, match="larger than the pool"):
        RunConfig.from_dict(dict(dataset="blobs", task="probe", methods=["random"], budgets=[900])).validate()
    d = create_run(RunConfig.from_dict(dict(dataset="blobs", task="probe", methods=["random"], budgets=[8])))
    append_jsonl(d / "events.jsonl", {"event": "error", "fatal": True, "time": 1, "kind": "budget", "message": "m"})
    assert RunStore.from_dir(d).progress()["error_kind"] == "budget"
