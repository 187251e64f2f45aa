"""The shared selector suite: every registered cold-start selector must pass these,
plus the paper-exact equality test and per-selector behaviour checks."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.errors import ColdstartError
from coldstart.select import get_selector, list_selectors, select

COLD = list_selectors("cold-start")
CORE = ["random", "kmeans", "kmeans-paper", "typiclust", "probcover", "coreset", "balanced", "ood-aware"]


def blobs(n=160, d=12, centers=6, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (centers, d))
    lab = rng.integers(centers, size=n)
    return (c[lab] + rng.normal(0, spread, (n, d))).astype(np.float32), lab


@pytest.fixture(scope="module")
def X():
    return blobs()[0]


def test_registry_has_every_issue_name():
    assert set(CORE) <= set(COLD)
    assert set(list_selectors("uncertainty")) == {"threshold", "least-confidence", "margin", "entropy", "bald", "badge"}
    with pytest.raises(ColdstartError, match="choose one of"):
        get_selector("nope")


@pytest.mark.parametrize("name", COLD)
def test_length_unique_nested_deterministic(name, X):
    big = select(name, X, 30, seed=3)
    small = select(name, X, 12, seed=3)
    again = select(name, X, 30, seed=3)
    idx = big.indices
    assert len(idx) == 30 and len(np.unique(idx)) == 30
    assert idx.min() >= 0 and idx.max() < len(X)
    assert np.array_equal(small.indices, idx[:12]), "not nested"
    assert np.array_equal(again.indices, idx), "not deterministic"
    assert list(big.per_pick["rank"]) == list(range(1, 31))
    assert np.array_equal(big.per_pick["index"].to_numpy(), idx)
    assert big.info["selector"] == name and big.info["seed"] == 3
    assert big.info["coverage_max"] >= big.info["coverage_mean"] > 0
    pre = big.prefix(12)
    assert np.array_equal(pre.indices, small.indices)


@pytest.mark.parametrize("name", COLD)
def test_seed_matters(name, X):
    a = select(name, X, 20, seed=0).indices
    b = select(name, X, 20, seed=1).indices
    c = select(name, X, 20, seed=2).indices
    assert not (np.array_equal(a, b) and np.array_equal(a, c))


@pytest.mark.parametrize("name", COLD)
def test_labeled_never_repicked(name, X):
    lab = np.arange(0, 160, 7)
    s = select(name, X, 25, seed=0, labeled=lab)
    assert not np.isin(s.indices, lab).any()
    assert len(np.unique(s.indices)) == 25
    with pytest.raises(ColdstartError, match="larger than the pool"):
        select(name, X, 160 - len(lab) + 1, seed=0, labeled=lab)


@pytest.mark.parametrize("name", COLD)
@pytest.mark.parametrize("bad, budget, match", [
    ("ok", 0, "positive"),
    ("ok", -3, "positive"),
    ("ok", 161, "larger than the pool .*choose a budget <= 160"),
    ("ok", 2.5, "not an integer"),
    ("nan", 10, "NaN or inf"),
    ("inf", 10, "NaN or inf"),
    ("1d", 10, "2-D"),
    ("empty", 10, "empty"),
    ("dup", 10, "only 4 distinct .*choose a budget <= 4"),
])
def test_bad_input(name, X, bad, budget, match):
    if name == "random" and bad == "dup":
        pytest.skip("random needs no distinct features")
    F = X.copy()
    if bad == "nan":
        F[5, 2] = np.nan
    elif bad == "inf":
        F[7, 0] = np.inf
    elif bad == "1d":
        F = F[:, 0]
    elif bad == "empty":
        F = F[:0]
    elif bad == "dup":
        F = np.repeat(F[:4], 40, axis=0)
    with pytest.raises(ColdstartError, match=match):
        select(name, F, budget, seed=0)


def test_unknown_param_is_named(X):
    with pytest.raises(ColdstartError, match="no parameter bogus"):
        select("kmeans", X, 5, bogus=1)


def test_random_without_features():
    s = select("random", 50, 10, seed=4)
    assert np.array_equal(s.indices, np.random.default_rng(4).permutation(50)[:10])
    assert "coverage_mean" not in s.info


# ---------------------------------------------------------------- paper-exact KMeans

def reference_paper_selection(features, budget, seed=2024):
    """Yuan & Hong's loop, written independently with scikit-learn."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(features)
    chosen, k = [], 2
    while True:
        km = KMeans(n_clusters=k, init="random", n_init=10, random_state=seed).fit(x)
        for c in km.cluster_centers_:
            chosen.append(int(np.argsort(np.linalg.norm(x - c, axis=1))[0]))
        uniq = list(dict.fromkeys(chosen))  # drop repeats, keep first occurrence
        if len(uniq) >= budget:
            return uniq[:budget]
        k += 1


@pytest.mark.slow
@pytest.mark.parametrize("which", ["blobs", "pneumoniamnist"])
def test_kmeans_paper_matches_reference_loop(which, request):
    if which == "blobs":
        F = blobs(n=220, d=10, centers=7, seed=5)[0]
    else:
        path = request.getfixturevalue("pneumoniamnist_path")
        d = np.load(path)
        F = d["train_images"][:200].reshape(200, -1).astype(np.float32) / 255
    ours = select("kmeans-paper", F, 20, seed=2024)
    assert ours.indices.tolist() == reference_paper_selection(F, 20, 2024)
    assert set(ours.per_pick.columns) >= {"cluster", "k", "distance", "cluster_size"}
    assert ours.per_pick["k"].is_monotonic_increasing


def test_fast_kmeans_coverage_close_to_exact():
    F = blobs(n=400, d=16, centers=12, seed=8, spread=1.0)[0]
    fast = select("kmeans", F, 40, seed=0)
    exact = select("kmeans-paper", F, 40, seed=0)
    assert fast.info["coverage_mean"] <= 1.10 * exact.info["coverage_mean"]


# ---------------------------------------------------------------- diagnostics

def test_coverage_matches_brute_force(X):
    from coldstart.select.diagnostics import coverage

    idx = np.array([3, 50, 77, 120])
    d = np.sqrt(((X[:, None, :] - X[idx][None]) ** 2).sum(-1)).min(1)
    cov = coverage(X, idx, budgets=[2, 4])
    assert cov["coverage_mean"] == pytest.approx(d.mean(), rel=1e-4)
    assert cov["coverage_max"] == pytest.approx(d.max(), rel=1e-4)
    assert [b for b, *_ in cov["coverage_curve"]] == [2, 4]


def test_kmeans_per_pick_diagnostics(X):
    s = select("kmeans", X, 20, seed=0)
    pp = s.per_pick
    assert (pp["cluster"] < pp["k"]).all() and (pp["cluster_size"] > 0).all()
    assert (pp["distance"] >= 0).all()
    assert s.info["k_max"] == pp["k"].max()


# ---------------------------------------------------------------- typiclust / probcover / coreset

def test_typiclust_picks_typical_points_of_distinct_clusters():
    F, lab = blobs(n=300, d=8, centers=5, seed=2, spread=0.5)
    s = select("typiclust", F, 5, seed=0, horizon=5)
    assert len(set(lab[s.indices])) == 5  # one per blob
    for i in s.indices:  # the most typical point lies near its blob's mean
        m = F[lab == lab[i]]
        d_centre = np.linalg.norm(m - m.mean(0), axis=1)
        assert np.linalg.norm(F[i] - m.mean(0)) <= np.quantile(d_centre, 0.5)


def test_probcover_auto_delta_purity_and_manual_override(X):
    from coldstart.select._space import l2_normalize
    from coldstart.select.probcover import auto_delta

    Z = np.asarray(X, np.float32)
    delta, meta = auto_delta(Z, 2, 0.95, seed=0)
    assert meta["purity_achieved"] >= 0.95
    s = select("probcover", X, 10, seed=0)
    assert s.info["delta_auto"] and s.info["delta"] == pytest.approx(delta, rel=1e-5)
    s2 = select("probcover", X, 10, seed=0, delta=0.3)
    assert s2.info["delta"] == 0.3 and not s2.info["delta_auto"]
    assert np.all(np.diff(s.per_pick["gain"].to_numpy()) <= 0)  # greedy gains never grow
    dn, _ = auto_delta(l2_normalize(X), 10, 0.95, seed=0)  # the original's space: unit sphere
    sn = select("probcover", X, 10, seed=0, normalize=True, n_clusters=10)
    assert sn.info["delta"] == pytest.approx(dn, rel=1e-5) and sn.info["space"].startswith("L2")


def test_probcover_graph_covers_every_point_no_remainder_dropped():
    from coldstart.select._space import l2_normalize
    from coldstart.select.probcover import delta_graph

    Z = l2_normalize(blobs(n=203, d=6, seed=1)[0])  # 203 = 3 chunks of 64 + a remainder of 11
    g = delta_graph(Z, 0.4, chunk=64)
    D = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))
    assert g.shape == (203, 203)
    assert np.array_equal(g.toarray(), D <= 0.4)


def test_coreset_minimises_max_distance(X):
    cs = select("coreset", X, 15, seed=0)
    rnd = [select("random", X, 15, seed=s).info["coverage_max"] for s in range(5)]
    assert cs.info["coverage_max"] < min(rnd)


# ---------------------------------------------------------------- balanced / ood-aware

def imbalanced(seed=0):
    """A rare class (5%) in two small far-off groups, the majority in several broad ones."""
    rng = np.random.default_rng(seed)
    maj = np.concatenate([rng.normal(c, 1.0, (95, 8)) for c in rng.normal(0, 2, (4, 8))])
    mino = np.concatenate([rng.normal(c, 0.3, (10, 8)) for c in (np.full(8, 7.0), np.full(8, -7.0))])
    return np.concatenate([maj, mino]).astype(np.float32), np.r_[np.zeros(len(maj)), np.ones(20)].astype(int)


def test_balanced_finds_more_of_the_rare_class_than_random_and_kmeans(pneumoniamnist_path):
    d = np.load(pneumoniamnist_path)  # train pool: normal (label 0) is 10%
    F = d["train_images"].reshape(len(d["train_images"]), -1).astype(np.float32) / 255
    y = d["train_labels"].ravel()
    normals = {name: np.mean([(y[select(name, F, 20, seed=s).indices] == 0).sum() for s in range(3)])
               for name in ("balanced", "random", "kmeans")}
    assert normals["balanced"] > normals["random"] and normals["balanced"] > normals["kmeans"], normals


def test_balanced_with_probs_alternates_predicted_classes():
    F, y = imbalanced()
    probs = np.c_[1 - y, y].astype(float) * 0.8 + 0.1  # a model that predicts the truth
    s = select("balanced", F, 30, seed=0, probs=probs)
    assert np.bincount(y[s.indices]).tolist() == [15, 15]
    lab = np.flatnonzero(y == 0)[:10]
    s2 = select("balanced", F, 10, seed=0, probs=probs, labels=np.where(np.isin(np.arange(len(y)), lab), y, -1),
                labeled=lab)
    assert (y[s2.indices] == 1).sum() == 10  # the class with 10 labeled gets nothing until the other catches up


def test_ood_scores_and_ood_aware_skip_outliers():
    from coldstart.select import ood_scores

    F, _ = blobs(n=180, d=10, centers=4, seed=3)
    rng = np.random.default_rng(0)
    out = (rng.normal(0, 25, (20, 10))).astype(np.float32)
    P = np.concatenate([F, out])
    is_ood = np.r_[np.zeros(180, bool), np.ones(20, bool)]
    sc = ood_scores(P, k=10)
    assert sc.shape == (200,) and sc.dtype == np.float32
    assert is_ood[np.argsort(-sc)[:20]].mean() >= 0.9
    for base in ("typiclust", "kmeans"):
        s = select("ood-aware", P, 30, seed=0, exclude=0.12, base=base)
        assert not is_ood[s.indices].any()
    assert "ood_score" in s.per_pick.columns
    with pytest.raises(ColdstartError, match="exclude"):
        select("ood-aware", P, 10, seed=0, exclude=1.5)


# ---------------------------------------------------------------- large-pool paths
def test_fast_kmeans_above_max_fit_picks_sample_medoids():
    from coldstart.select.kmeans import fast_kmeans_indices

    F = blobs(n=600, d=12, centers=8, seed=3)[0]
    picks, meta = fast_kmeans_indices(F, 25, seed=1, dim=None, max_fit=200)
    rows_f = np.sort(np.random.default_rng(1).choice(600, 200, replace=False))
    assert len(set(picks)) == 25 and set(picks) <= set(rows_f.tolist())
    assert sum(meta["cluster_sizes"]) == 600
    assert all(s > 0 for s in meta["cols"]["cluster_size"])
    again, _ = fast_kmeans_indices(F, 25, seed=1, dim=None, max_fit=200)
    assert again == picks


def test_blockwise_standardize_and_pca_match_the_plain_formulas():
    from coldstart.select._space import reduce_dim, standardize

    F = np.random.default_rng(0).normal(3, 2, size=(500, 40)).astype(np.float32)
    F[:, 5] = 1.0  # a constant column is only centred
    Z = standardize(F)
    sd = F.std(axis=0, dtype=np.float64)
    sd[sd == 0] = 1
    np.testing.assert_allclose(Z, (F - F.mean(0, dtype=np.float64)) / sd, atol=1e-5)
    rng = np.random.default_rng(1)  # a clear spectrum, so the axes are well defined
    G = (rng.normal(size=(500, 4)) * [10, 6, 3, 1.5]) @ np.linalg.qr(rng.normal(size=(40, 4)))[0].T
    G = (G + rng.normal(0, 0.05, G.shape)).astype(np.float32)
    P = reduce_dim(G, 3, seed=0)
    U = np.linalg.svd(G - G.mean(0), full_matrices=False)[2][:3].T
    np.testing.assert_allclose(np.abs(P), np.abs((G - G.mean(0)) @ U), atol=2e-3)  # axes up to sign


def test_wide_features_pca_never_forms_the_covariance(monkeypatch):
    """Above COV_MAX_DIM the subspace iteration multiplies by the sample twice: same axes, no d x d matrix."""
    import coldstart.select._space as sp

    rng = np.random.default_rng(2)
    G = (rng.normal(size=(300, 5)) * [9, 7, 5, 3, 2]) @ np.linalg.qr(rng.normal(size=(120, 5)))[0].T
    G = (G + rng.normal(0, 0.05, G.shape)).astype(np.float32)
    narrow = sp.reduce_dim(G, 4, seed=0)
    monkeypatch.setattr(sp, "COV_MAX_DIM", 50)
    wide = sp.reduce_dim(G, 4, seed=0)
    np.testing.assert_allclose(np.abs(wide), np.abs(narrow), atol=1e-3)


def test_kmeans_paper_on_wide_features_clusters_in_the_exact_row_space():
    """More dimensions than images (raw pixels): the loop runs in an exact basis of the rows' span,
    keeping every distance, and picks what the loop in the original space picks."""
    from sklearn.datasets import make_blobs

    from coldstart.select import kmeans as K

    Z, tol = K.exact_row_space(np.random.default_rng(0).normal(size=(30, 200)))
    assert Z.shape == (30, 30) and tol == pytest.approx(1e-4 * 30 / 200)
    X0 = np.random.default_rng(0).normal(size=(30, 200))
    Xc = X0 - X0.mean(0)
    Zc, _ = K.exact_row_space(X0)
    d_orig = ((Xc[:, None] - Xc[None]) ** 2).sum(-1)
    d_row = ((Zc[:, None] - Zc[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d_row, d_orig, rtol=1e-9, atol=1e-8)

    for n, d, seed in [(150, 2000, 0), (120, 800, 7)]:
        X, _ = make_blobs(n, d, centers=6, cluster_std=8.0, random_state=seed)
        X = X + np.random.default_rng(seed).normal(0, 3, X.shape)
        fast = K.paper_kmeans_indices(X, 40, seed)[0]
        orig = K.exact_row_space
        try:
            K.exact_row_space = lambda Xs, tol=1e-4: (Xs, tol)  # the literal loop in d dimensions
            K._SPACES.clear()  # not the row space kept from the call above
            literal = K.paper_kmeans_indices(X, 40, seed)[0]
        finally:
            K.exact_row_space = orig
            K._SPACES.clear()
        assert fast == literal


def _bad_values(p):
    """Values each declared Param must refuse: wrong type, and each side of its bounds / choices."""
    out = []
    if p.type is bool:
        out.append("yes")
    elif p.type is str:
        out += [3] + (["not-a-choice"] if p.choices else [])
    else:
        out += ["many", True] + ([2.5] if p.type is int else [])
        if p.low is not None:
            out.append(p.low if p.low_open else p.low - 1)
        if p.high is not None:
            out.append(p.high if p.high_open else p.high + 1)
    if not p.optional and p.default is not None:
        out.append(None)
    return out


PARAM_CASES = [(name, p, v) for name in list_selectors(None) for p in get_selector(name).params or ()
               for v in _bad_values(p)]


def test_every_declared_param_has_bad_value_cases():
    declared = {(n, p.name) for n in list_selectors(None) for p in get_selector(n).params or ()}
    assert declared and declared == {(n, p.name) for n, p, _ in PARAM_CASES}


@pytest.mark.parametrize("name,param,value", PARAM_CASES,
                         ids=[f"{n}-{p.name}-{v!r}" for n, p, v in PARAM_CASES])
def test_a_bad_param_value_is_refused_naming_the_parameter(name, param, value, X):
    import re

    with pytest.raises(ColdstartError, match=rf"\b{re.escape(param.name)}={re.escape(repr(value))}"):
        select(name, X, 5, seed=0, **{param.name: value})


def test_builtin_table_names_every_registered_selector_and_its_module():
    from coldstart.select import BUILTIN, REGISTRY, load_all

    load_all()
    ours = {n for n, s in REGISTRY.items() if s.func.__module__.startswith("coldstart.select.")}
    assert ours == set(BUILTIN)  # a selector registered by a module but missing from the table fails here
    for name, module in BUILTIN.items():
        assert REGISTRY[name].func.__module__ == f"coldstart.select.{module}", name
