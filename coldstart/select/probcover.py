"""``probcover`` (Yehuda, Dekel, Hacohen & Weinshall, NeurIPS 2022): greedy max coverage of delta-balls.

Features are used as given (``normalize=True`` L2-normalises them, as the original does with
SimCLR embeddings) and, above ``dim`` dimensions, PCA-projected so the radius search stays fast
(and re-normalised when normalising). Every image is a ball of
radius ``delta``; the selector repeatedly takes the image whose ball covers the
most not-yet-covered images. ``delta`` is chosen automatically as the largest
value whose balls stay >= ``purity`` pure with respect to KMeans pseudo-labels
(a ball is pure when all images in it share its centre's pseudo-label; ``n_clusters``
pseudo-classes, 2 by default: the number of classes, unknown at cold start, as scikit-activeml
falls back to), or set by hand. The graph is built by a chunked radius search over *every* image
(no dropped remainder, no N x N matrix; edges stored as int32); once everything is
covered, the rest of the order is a seeded random permutation (as in the
original), so selections stay nested.

From 100,000 images on faiss the exact graph does not fit in memory (a million images in balls of
~15,000 is 15 billion edges), so coverage is estimated (:func:`sampled_cover`): balls centred on
candidate images (every image up to a million, a seeded sample above) hold at most ``graph_degree_cap``
witnesses from a seeded witness sample, each pick is the best of the top candidates by estimated gain and
the first one's nearest images by uncovered witnesses in their full balls, and the ``coverage_fraction`` reported
is exact over the whole pool. The sample sizes and the cap are in the Selection's info (``graph_*``).
"""

from __future__ import annotations

import time

import numpy as np

from ._space import kmeans, l2_normalize, nearest, reduce_dim, single_thread, sq_dist
from .base import Param, register
from .faiss_backend import PURITY_SAMPLE, SAMPLED_MIN_POOL, use_faiss
from .diagnostics import make_selection
from .validation import check_inputs
from ..errors import ColdstartError


def auto_delta(Z: np.ndarray, n_clusters: int, purity: float, seed: int,
               sample: int = 5000) -> tuple[float, dict]:
    """Largest delta whose balls are >= ``purity`` pure w.r.t. KMeans pseudo-labels.

    A ball around i is pure iff delta < d_i, the distance from i to the nearest
    image with another pseudo-label; so the purity at delta is the fraction of
    d_i above delta, and the answer is the (1 - purity) quantile of d_i (computed
    exactly up to ``sample`` images, estimated on a seeded sample of centres above).
    """
    n = len(Z)
    kmc = min(int(n_clusters), n)
    y = kmeans(Z, kmc, seed)[1] if kmc > 1 else np.zeros(n, int)
    rng = np.random.default_rng(seed)
    centres = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    if use_faiss(n):
        from .faiss_backend import other_label_distance

        d_other = other_label_distance(Z, y, centres)
    else:
        zz = np.einsum("ij,ij->i", Z, Z)
        d_other = np.full(len(centres), np.inf, np.float32)
        step = max(1, (32 * 2**20) // (4 * n))
        for s in range(0, len(centres), step):
            c = centres[s:s + step]
            d = sq_dist(Z[c], Z, zz)
            d[y[c][:, None] == y[None, :]] = np.inf
            d_other[s:s + step] = np.sqrt(d.min(axis=1))
    finite = d_other[np.isfinite(d_other)]
    if len(finite) == 0:  # one pseudo-class: nothing can be impure, so one ball may hold everything
        reach = 2.0 * float(np.sqrt(((Z - Z.mean(axis=0)) ** 2).sum(axis=1).max()))
        return reach, {"purity_sample": int(len(centres))}
    # purity(delta) = mean(d_other > delta); largest delta with purity >= target
    q = np.sort(np.where(np.isfinite(d_other), d_other, np.inf))
    m = int(np.floor((1.0 - purity) * len(q)))  # at most m balls may be impure
    delta = float(np.nextafter(q[m], 0)) if m < len(q) else float(q[-1])
    achieved = float((d_other > delta).mean())
    return max(delta, 0.0), {"purity_sample": int(len(centres)), "purity_achieved": achieved,
                             "pseudo_label_clusters": kmc}


def delta_graph(Z: np.ndarray, delta: float, chunk: int | None = None):
    """Symmetric delta-ball graph as CSR (row i = the images within ``delta`` of image i).

    Every image is processed (blocks of ``chunk`` rows, the last block being
    whatever remains); memory is one block of distances plus the edges (int32).
    At scale, faiss range searches build it (:func:`.faiss_backend.delta_graph`).
    """
    import scipy.sparse as sp

    if use_faiss(len(Z)):
        from .faiss_backend import delta_graph as faiss_delta_graph

        return faiss_delta_graph(Z, delta)

    Z = np.asarray(Z, dtype=np.float32)
    n = len(Z)
    zz = np.einsum("ij,ij->i", Z, Z)
    if chunk is None:
        chunk = max(1, min(4096, (64 * 2**20) // (4 * n)))
    r2 = np.float32(float(delta) ** 2)
    unit = bool(np.allclose(zz, 1.0, atol=1e-4))  # unit rows: |a-b|^2 <= r2  <=>  a.b >= 1 - r2/2
    counts = np.zeros(n + 1, np.int64)
    pieces = []
    for s in range(0, n, chunk):
        if unit:
            r, c = np.nonzero(Z[s:s + chunk] @ Z.T >= np.float32(1.0 - float(r2) / 2))
            d = range(min(chunk, n - s))
        else:
            d = sq_dist(Z[s:s + chunk], Z, zz)
            r, c = np.nonzero(d <= r2)
        pieces.append(c.astype(np.int32))
        counts[s + 1:s + len(d) + 1] = np.bincount(r, minlength=len(d))
    indices = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    del pieces
    return sp.csr_matrix((np.ones(len(indices), np.bool_), indices, np.cumsum(counts)), shape=(n, n))


def _greedy(gT, cnt: np.ndarray, weight, taken: np.ndarray, covered: np.ndarray, budget: int, take):
    """Greedy max coverage: repeatedly the untaken ball with the most (weighted) uncovered members.

    ``cnt[i]`` = uncovered members of ball i among its stored ones (updated in place), ``weight`` = None or
    each ball's members per stored member; ``gT`` row q = the balls storing q; ``take(p, score)`` returns
    (the pick made for ball p, its gain, every member of its ball), whose members are then covered.
    """
    picks, gains = [], []
    while len(picks) < budget:
        score = cnt if weight is None else cnt * weight
        g_masked = np.where(taken, -1, score)
        p = int(np.argmax(g_masked))
        if g_masked[p] <= 0:
            break
        taken[p] = True
        pick, gain, ball = take(p, score[p])
        picks.append(pick)
        gains.append(gain)
        newly = ball[~covered[ball]]
        covered[newly] = True
        if len(newly):  # every ball holding a newly covered member loses one
            cnt -= np.bincount(gT[newly].indices, minlength=len(cnt))
    return picks, gains


def greedy_cover(g, budget: int, seed: int, labeled: np.ndarray) -> tuple[list[int], list[int]]:
    """Greedy max coverage on CSR graph ``g`` (rows = balls). Returns picks and gains."""
    n = g.shape[0]
    indptr, indices = g.indptr, g.indices
    covered = np.zeros(n, bool)
    for i in labeled:
        covered[indices[indptr[i]:indptr[i + 1]]] = True
    # gain[i] = number of uncovered images in ball i (the graph is symmetric: the balls
    # containing q are the images in q's ball)
    gain = np.diff(indptr).astype(np.int64)
    if covered.any():
        rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        gain = np.bincount(rows, weights=(~covered[indices]).astype(np.float64), minlength=n).astype(np.int64)
        del rows
    taken = np.zeros(n, bool)
    taken[labeled] = True
    perm = np.random.default_rng(seed).permutation(n)
    picks, gains = _greedy(g, gain, None, taken, covered, budget,
                           lambda p, score: (p, score, indices[indptr[p]:indptr[p + 1]]))
    gains = [int(x) for x in gains]
    if len(picks) < budget:  # everything covered: the original continues at random
        rest = perm[~taken[perm]][: budget - len(picks)]
        picks.extend(int(r) for r in rest)
        gains.extend([0] * len(rest))
    return picks, gains


def _largest(s: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values of ``s``, largest first (ties: lower index first)."""
    top = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    return top[np.lexsort((top, -s[top]))]


def sampled_cover(Z, delta: float, budget: int, seed: int, labeled: np.ndarray):
    """Greedy max coverage at scale, estimated on :func:`.faiss_backend.witness_graph` (candidates x witnesses).

    Each step takes the candidate ball with the largest estimated gain, then the best of it, the next best
    candidates (:data:`.faiss_backend.RERANK_CANDIDATES` in all) and its
    :data:`.faiss_backend.REFINE_NEIGHBOURS` nearest pool images by uncovered witnesses in their full balls
    (so the pick is not limited to the candidate sample).

    Returns picks (pool rows), estimated gains and ball sizes (in pool images), and the graph's figures.
    """
    from .faiss_backend import REFINE_NEIGHBOURS, RERANK_CANDIDATES, flat_index, range_rows, witness_graph

    n = len(Z)
    wg = witness_graph(Z, delta, seed)
    g, count, cand = wg["g"], wg["count"], wg["cand"]
    m = g.shape[1]
    covered = np.zeros(m, bool)
    if len(labeled):  # labeled images' balls count as covered
        covered[range_rows(wg["index"], np.asarray(Z[labeled]), delta)[2]] = True
    kept = np.diff(g.indptr)
    cnt = kept.copy()
    if covered.any():
        cnt -= np.bincount(np.repeat(np.arange(len(cand)), kept), weights=covered[g.indices],
                           minlength=len(cand)).astype(np.int64)
    weight = count / np.maximum(kept, 1)
    taken = np.isin(cand, labeled)

    pool_taken = np.zeros(n, bool)
    pool_taken[labeled] = True
    index = wg["index"]
    near = flat_index(Z)
    scale = n / m

    neighbours: dict[int, np.ndarray] = {}

    def take(p, score):
        """The best ball among the RERANK_CANDIDATES best candidates (p first) and p's REFINE_NEIGHBOURS nearest
        images, by uncovered witnesses in their full balls."""
        s = cnt * weight
        s[taken & (np.arange(len(s)) != p)] = -1
        top = np.array([p])
        if RERANK_CANDIDATES > 1:
            top = _largest(s, RERANK_CANDIDATES)
            top = np.concatenate([[p], top[(top != p) & (s[top] >= 0)]])  # p, then the best untaken others
        if p not in neighbours:  # searched for the 64 best untaken candidates at once (one scan of the pool)
            batch = np.union1d([p], _largest(s, 64))
            found = near.search(np.ascontiguousarray(Z[cand[batch]], dtype=np.float32), REFINE_NEIGHBOURS)[1]
            neighbours.update(zip(batch.tolist(), found))
        q = neighbours[p]
        q = q[(q >= 0) & ~pool_taken[np.maximum(q, 0)]]
        q = np.unique(np.concatenate([cand[top], q]))
        counts, _, ids = range_rows(index, np.asarray(Z[q]), delta)
        rows = np.repeat(np.arange(len(q)), counts)
        unc = np.bincount(rows, weights=~covered[ids], minlength=len(q))
        best = int(np.argmax(unc))
        pick = int(q[best])
        pool_taken[pick] = True
        r = np.searchsorted(cand, pick)
        if r < len(cand) and cand[r] == pick:
            taken[r] = True
        return pick, unc[best] * scale, ids[rows == best]

    picks, gains = _greedy(g.T.tocsr(), cnt, weight, taken, covered, budget, take)
    gains = [int(round(x)) for x in gains]
    if len(picks) < budget:  # every witness covered: continue at random, as the original
        perm = np.random.default_rng(seed).permutation(n)
        rest = perm[~pool_taken[perm]][: budget - len(picks)]
        picks.extend(int(r) for r in rest)
        gains.extend([0] * len(rest))
    ball = (range_rows(wg["index"], np.asarray(Z[np.asarray(picks, np.int64)]), delta)[0] * scale).round().astype(np.int64)
    info = dict(wg["info"], n_edges=int(g.nnz), mean_ball_size=float(count.mean() * scale),
                graph_rerank_candidates=int(RERANK_CANDIDATES), graph_refine_neighbours=int(REFINE_NEIGHBOURS))
    return picks, gains, ball, info


@register("probcover", "ProbCover: greedy maximum coverage of delta-balls (delta from a purity "
                       "rule); covers dense regions first at tiny budgets.",
          params=(Param("delta", float, None, "Ball radius in the normalised space (0..2); None = automatic "
                        "(purity rule).", low=0, optional=True),
                  Param("purity", float, 0.95, "Minimum fraction of pure balls for the automatic delta.",
                        low=0, high=1, low_open=True, high_open=True),
                  Param("n_clusters", int, 2, "KMeans pseudo-classes for the purity rule (the number of "
                        "classes).", low=1),
                  Param("dim", int, 64, "PCA components before the radius search (None: no PCA).", low=1,
                        optional=True),
                  Param("normalize", bool, False, "L2-normalise the features first (for embeddings trained on "
                        "the unit sphere, e.g. SimCLR); delta is then at most 2.")))
@single_thread
def select_probcover(features, budget: int, seed: int = 0, delta: float | None = None,
                     purity: float = 0.95, n_clusters: int = 2, dim: int | None = 64,
                     normalize: bool = False, labeled=None):
    """ProbCover selection.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
        Seeds the pseudo-label KMeans, the PCA and the random tail.
    delta : float, optional
        Ball radius in the selection space (0..2 with ``normalize``). None: automatic (purity rule).
    purity : float, default=0.95
        Minimum fraction of pure balls for the automatic delta.
    n_clusters : int, default=2
        KMeans pseudo-classes for the purity rule (the paper uses the number of classes; at cold
        start they are unknown, and 2 is scikit-activeml's fallback).
    dim : int or None, default=64
        PCA components before the radius search when the features are wider.
    normalize : bool, default=False
        L2-normalise the features first (and again after the PCA).
    labeled : int array, optional
        Already-labeled images: never picked; their balls count as covered.

    Returns
    -------
    Selection
        Per pick: ``gain`` (newly covered images), ``ball_size``; info: ``delta``,
        ``delta_auto``, ``coverage_fraction`` (share of the pool inside the picks' balls).
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    if not 0 < float(purity) < 1:
        raise ColdstartError(f"purity={purity} must be between 0 and 1 (e.g. 0.95)")
    norm = l2_normalize if normalize else (lambda A: np.asarray(A, dtype=np.float32))
    Z = norm(X)
    if dim is not None and Z.shape[1] > int(dim):
        Z = norm(reduce_dim(Z, int(dim), seed))
    extra: dict = {"space": ("L2-normalised" if normalize else "raw features")
                   + (f" + PCA({Z.shape[1]})" if Z.shape[1] < X.shape[1] else "")}
    sampled = use_faiss(len(Z)) and len(Z) >= SAMPLED_MIN_POOL  # estimated on a witness sample, degree capped
    if delta is None:
        d, meta = auto_delta(Z, int(n_clusters), float(purity), seed, **({"sample": PURITY_SAMPLE} if sampled else {}))
        extra.update(meta, delta_auto=True)
    else:
        d = float(delta)
        if not d >= 0:
            raise ColdstartError(f"delta={delta} must be >= 0 (a radius in the selection space)")
        extra["delta_auto"] = False
    if sampled:
        picks, gains, ball_picks, graph = sampled_cover(Z, d, budget, seed, lab)
        covered = nearest(Z, Z[np.asarray(picks, np.int64)])[1] <= d  # exact, over the whole pool
        extra.update(graph, delta=d, coverage_fraction=float(covered.mean()))
    else:
        g = delta_graph(Z, d)
        picks, gains = greedy_cover(g, budget, seed, lab)
        ball = np.diff(g.indptr)
        ball_picks = ball[picks]
        covered = np.zeros(len(Z), bool)
        for p in picks:
            covered[g.indices[g.indptr[p]:g.indptr[p + 1]]] = True
        extra.update(delta=d, n_edges=int(g.nnz), mean_ball_size=float(ball.mean()),
                     coverage_fraction=float(covered.mean()))
    cols = {"gain": gains, "ball_size": ball_picks}
    params = {"delta": delta, "purity": float(purity), "n_clusters": int(n_clusters), "dim": dim,
              "normalize": bool(normalize)}
    return make_selection("probcover", X, picks, seed, params, cols, extra, t0, lab)
