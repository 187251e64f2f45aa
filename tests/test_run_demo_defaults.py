"""The Train page's demo policy (coldstart.runs.defaults): strata, seeds, the quick demo grid."""
from __future__ import annotations

import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs.defaults import (PAPER_SEED, default_seeds, default_strata, parse_seeds, quick_demo,
                                     seeds_text)


class _Pool:
    def __init__(self, manifest, info=None):
        self.manifest, self.info, self.name = manifest, info or {}, "x"


def test_default_strata_is_subgroup_where_the_pool_has_it():
    m = pd.DataFrame({"id": list("abcdef"), "subgroup": ["a", "b"] * 3, "protocol": ["PA", "AP"] * 3})
    assert default_strata(_Pool(m)) == "subgroup"
    assert default_strata(_Pool(m.drop(columns="subgroup"))) is None  # no silent guess at another column


def test_default_strata_on_the_phantom_pool_plan():
    from coldstart.data.phantom import plan_pool

    assert default_strata(_Pool(plan_pool())) == "subgroup"  # the default pool's columns (no CT needed)


def test_paper_preset_seeds_are_2024_for_network_tasks():
    assert default_seeds("classification", "paper") == [PAPER_SEED] == [2024]
    assert default_seeds("segmentation", "paper") == [2024]
    assert default_seeds("classification", "quick") == [0, 1, 2, 3, 4]
    assert default_seeds("probe", "paper") == [0, 1, 2, 3, 4]  # the probe ignores the preset


@pytest.mark.parametrize("text, seeds", [("0,1,2", [0, 1, 2]), ("2024", [2024]), (" 3 5, 7 ", [3, 5, 7]),
                                         ("0-4", [0, 1, 2, 3, 4]), ("2024,0-1", [2024, 0, 1])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds
    assert parse_seeds(seeds_text(seeds)) == seeds


@pytest.mark.parametrize("text, words", [("", "is empty"), ("0,a", "'a' is not a whole number"),
                                         ("1.5", "not a whole number"), ("4-2", "backwards range"),
                                         ("-1", "negative"), ("1,1", "repeats [1]")])
def test_parse_seeds_errors_name_the_value_and_the_fix(text, words):
    with pytest.raises(ColdstartError, match="seeds=") as e:
        parse_seeds(text)
    assert words in str(e.value) and ("e.g. 0,1,2" in str(e.value))


def test_quick_demo_grid(blob_dataset, monkeypatch):
    from coldstart.runs import RunConfig
    from coldstart.runs.units import plan_units

    plain = quick_demo(blob_dataset, ["pixels", "gist"])
    assert plain["methods"] == ["random", "pixels:kmeans"]  # no default embedder: pixels only
    assert quick_demo(blob_dataset, ["pixels", "pixels-32"])["methods"] == ["random", "pixels-32:kmeans"]
    monkeypatch.setattr(type(blob_dataset), "info", property(lambda self: {"default_embedder": "gist"}),
                        raising=False)
    demo = quick_demo(blob_dataset, ["pixels", "pixels-32", "gist"])
    assert demo["methods"] == ["random", "gist:kmeans-paper", "pixels-32:kmeans"]
    assert demo["task"] == "probe" and len(demo["budgets"]) == 3 and len(demo["seeds"]) == 3
    pool = int((blob_dataset.splits == "train").sum())
    assert pool < 120 and demo["budgets"][-1] <= pool // 2  # small pool: budgets that fit
    cfg = RunConfig.from_dict(dict(demo, dataset=blob_dataset.name))
    assert len(plan_units(cfg)) == 27 and cfg.probe_embedding("pixels-32:kmeans") == "gist"


def test_file_embedder_methods_validate_through_embed_file(blob_dataset, tmp_path):
    import numpy as np

    from coldstart.runs import RunConfig
    from coldstart.runs.defaults import file_embedder_methods

    good = tmp_path / "mine.npy"
    np.save(good, np.random.default_rng(0).normal(size=(len(blob_dataset), 5)).astype(np.float32))
    name, methods = file_embedder_methods(blob_dataset, f"file:{good}", ["kmeans", "typiclust"])
    assert name == f"file:{good.resolve()}" and methods == [f"{name}:kmeans", f"{name}:typiclust"]
    RunConfig.from_dict(dict(dataset=blob_dataset.name, methods=["random", *methods], budgets=[8], seeds=[0]))
    with pytest.raises(ColdstartError, match="does not exist"):
        file_embedder_methods(blob_dataset, str(tmp_path / "nope.npy"), ["kmeans"])
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((3, 5), np.float32))
    with pytest.raises(ColdstartError, match="has 3 rows but dataset"):
        file_embedder_methods(blob_dataset, str(short), ["kmeans"])
    with pytest.raises(ColdstartError, match="path is empty"):
        file_embedder_methods(blob_dataset, "  ", ["kmeans"])
