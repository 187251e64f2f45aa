"""faiss (the ``[scale]`` extra) for the nearest-neighbour and KMeans steps of the selectors at large pools.

Which backend a step uses (:func:`use_faiss`):

- ``COLDSTART_SELECT_BACKEND=auto`` (default): faiss for pools of :data:`AUTO_MIN_POOL` images or
  more when faiss is installed, else the numpy path;
- ``numpy``: always the numpy path (the reference);
- ``faiss``: always faiss (an error saying how to install it when it is missing).

The CLI's ``coldstart select --backend`` sets it. Below the threshold nothing changes, so
results equal the numpy path exactly. Above it:

- kNN (TypiClust typicality, the OOD score) and nearest-centroid assignment use an exact flat
  index (``IndexFlatL2``): the same neighbours as the numpy path up to float rounding ties;
- KMeans (TypiClust, ProbCover pseudo-labels) is ``faiss.Kmeans`` seeded with the selection
  seed, fit on at most ``max_fit`` sampled images (a different, equally seeded algorithm).

faiss computes in float32; memory-mapped (``np.load(mmap_mode="r")``) and float16 embeddings
are read block by block (:data:`BLOCK` rows), so the pool is never copied whole.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ColdstartError

#: Pools at least this large use faiss under ``auto`` (below it the numpy path is as fast).
AUTO_MIN_POOL = 100_000
#: Rows converted to float32 and searched at a time.
BLOCK = 65_536
BACKENDS = ("auto", "numpy", "faiss")


def backend() -> str:
    """The configured backend (``COLDSTART_SELECT_BACKEND``, default ``auto``)."""
    b = os.environ.get("COLDSTART_SELECT_BACKEND", "auto").strip().lower() or "auto"
    if b not in BACKENDS:
        raise ColdstartError(f"COLDSTART_SELECT_BACKEND={b!r}: choose one of {', '.join(BACKENDS)}")
    return b


def threads() -> int:
    """faiss's OpenMP threads (``COLDSTART_FAISS_THREADS``, default 1).

    One, like the numpy path's single BLAS thread (``_space.single_thread``): on a shared 2-core machine at
    load 14, a 1,000,000 x 100 nearest-centroid search took 15 s with faiss's default 2 threads and 1.5 s
    with one. Raise it on a machine with idle cores.
    """
    v = os.environ.get("COLDSTART_FAISS_THREADS", "1").strip() or "1"
    if not v.isdigit() or int(v) < 1:
        raise ColdstartError(f"COLDSTART_FAISS_THREADS={v!r} must be a positive number of threads (e.g. 1 or 8)")
    return int(v)


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    # set on every call: faiss is usually imported inside threadpoolctl's limits, which then do not cover it
    faiss.omp_set_num_threads(threads())
    return faiss


def use_faiss(n: int) -> bool:
    """True when a step over ``n`` images should run on faiss (see the module docstring)."""
    b = backend()
    if b == "numpy":
        return False
    if b == "faiss":
        if _faiss() is None:
            raise ColdstartError('backend faiss needs faiss: install the scale extra with `pip install -e ".[scale]"` '
                                 "(or use --backend numpy)")
        return True
    return n >= AUTO_MIN_POOL and _faiss() is not None


def _blocks(X):
    for s in range(0, len(X), BLOCK):
        yield s, np.ascontiguousarray(X[s:s + BLOCK], dtype=np.float32)


def flat_index(X):
    """An exact (``IndexFlatL2``) index over the rows of X, added block by block."""
    faiss = _faiss()
    index = faiss.IndexFlatL2(X.shape[1])
    for _, b in _blocks(X):
        index.add(b)
    return index


def search(X, Q, k: int, index=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``X`` for every row of ``Q``: (squared distances, indices), float32/int64.

    ``index``: :func:`flat_index` of X when the caller already built it.
    """
    index = flat_index(X) if index is None else index
    D = np.empty((len(Q), k), np.float32)
    idx = np.empty((len(Q), k), np.int64)
    for s, b in _blocks(Q):
        D[s:s + len(b)], idx[s:s + len(b)] = index.search(b, k)
    np.maximum(D, 0, out=D)
    return D, idx


def nearest(X, C) -> tuple[np.ndarray, np.ndarray]:
    """For every row of X: index of and distance to its nearest row of C."""
    D, idx = search(C, X, 1)
    return idx[:, 0], np.sqrt(D[:, 0])


def knn_mean_distance(Q, X, k: int, exclude_self: bool = True) -> np.ndarray:
    """Mean distance from each row of Q to its k nearest rows of X (self excluded: Q is X)."""
    kk = min(k + int(exclude_self), len(X))
    D, _ = search(X, Q, kk)
    D = np.sort(D, axis=1)
    if exclude_self:
        D = D[:, 1:]
    return np.sqrt(D).mean(axis=1).astype(np.float32) if D.shape[1] else np.zeros(len(Q), np.float32)


def kmeans(Z, k: int, seed: int, max_iter: int = 50, max_fit: int = 20000, init=None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``faiss.Kmeans`` fit on at most ``max_fit`` sampled rows, then every row assigned.

    ``init(F, k, rng)`` (the numpy path's k-means++ seeding, passed in by ``_space.kmeans``) picks the
    starting centroids among the sampled rows; without it faiss starts from random rows, which on a pool
    of well-separated modes can leave a mode without a centroid. Returns (centroids, labels).
    """
    faiss = _faiss()
    rng = np.random.default_rng(seed)
    n = len(Z)
    fit = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    F = np.ascontiguousarray(np.asarray(Z[fit]), dtype=np.float32)
    km = faiss.Kmeans(F.shape[1], int(k), niter=int(max_iter), seed=int(seed) % 2**31, nredo=1,
                      max_points_per_centroid=max(1, len(F) // max(int(k), 1) + 1), spherical=False)
    km.train(F, init_centroids=None if init is None else np.ascontiguousarray(F[init(F, int(k), rng)]))
    C = km.centroids.astype(np.float32)
    return C, nearest(Z, C)[0]


def delta_graph(Z, delta: float):
    """ProbCover's exact delta-ball graph by flat-index range search (CSR, row i = images within ``delta``).

    Used when faiss is forced on a pool below :data:`SAMPLED_MIN_POOL`; from there ProbCover uses
    :func:`witness_graph` instead (the exact graph of a large pool does not fit in memory).
    """
    import scipy.sparse as sp

    n = len(Z)
    r2 = float(np.nextafter(np.float32(float(delta) ** 2), np.float32(np.inf)))  # include |a-b| == delta
    index = flat_index(Z)
    counts = np.zeros(n + 1, np.int64)
    pieces = []
    for s, b in _blocks(Z):
        lims, _, idx = index.range_search(b, r2)
        counts[s + 1:s + len(b) + 1] = np.diff(lims)
        pieces.append(idx.astype(np.int32))
    indices = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    g = sp.csr_matrix((np.ones(len(indices), np.bool_), indices, np.cumsum(counts)), shape=(n, n))
    g.sort_indices()
    return g


def other_label_distance(Z, y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each row of ``centres``: exact distance to the nearest row of Z with another label (inf if none).

    One flat index per label over the other labels' rows (ProbCover's purity rule at scale).
    """
    out = np.full(len(centres), np.inf, np.float32)
    for c in np.unique(y[centres]):
        q = np.flatnonzero(y[centres] == c)
        others = np.flatnonzero(y != c)
        if len(others):
            D, _ = search(np.asarray(Z[others]), np.asarray(Z[centres[q]]), 1)
            out[q] = np.sqrt(D[:, 0])
    return out


# ---- large pools: estimated TypiClust typicality and ProbCover coverage ----------------------------------------

#: From this many images (with faiss) ProbCover estimates coverage on a witness sample (:func:`witness_graph`).
SAMPLED_MIN_POOL = AUTO_MIN_POOL
#: TypiClust on faiss: typicality is computed for at most this many seeded-sampled members of a cluster
#: (their k nearest neighbours are searched among all its members, exactly). 2,048: within 1% of the exact
#: method's coverage at a million's sampling rate (docs/scale.md section 5; 256 missed it there by +1.86%).
TYPICALITY_CANDIDATES = 2048
#: ProbCover at scale: the purity rule's nearest other-pseudo-label distances use this many sampled centres ...
PURITY_SAMPLE = 2000
#: ... balls are centred on at most this many seeded-sampled images (the candidates: every image up to a
#: million; a 5% sample, 50,000 of 1M, left ProbCover 6 coverage points short of the exact method) ...
GRAPH_CANDIDATES = 1_000_000
#: ... and hold at most this many witnesses each (the degree cap; a seeded random subset when more) ...
DEGREE_CAP = 128
#: ... drawn from a seeded witness sample of at least this many images (sized so a mean ball holds ~the cap).
GRAPH_MIN_WITNESSES = 10_000
#: ... and each pick is the best ball among its candidate and that candidate's nearest this many images ...
REFINE_NEIGHBOURS = 32
#: ... and the next best candidates by estimated gain, this many candidates in all (compared by uncovered
#: witnesses in their full balls, so the cap's sampling noise alone does not choose the pick).
RERANK_CANDIDATES = 8
#: Witness samples larger than this are searched with an inverted-file index (small balls: approximate).
FLAT_MAX_WITNESSES = 50_000
#: Rows range-searched at a time (a block's results are shuffled for the cap: big balls make them large).
RANGE_BLOCK = 8192
#: The settings above that change the picks (part of a faiss selection's cache key).
SAMPLE_SETTINGS = ("SAMPLED_MIN_POOL", "TYPICALITY_CANDIDATES", "PURITY_SAMPLE", "GRAPH_CANDIDATES", "DEGREE_CAP",
                   "GRAPH_MIN_WITNESSES", "REFINE_NEIGHBOURS", "RERANK_CANDIDATES", "FLAT_MAX_WITNESSES")


def sample(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted seeded sample of ``min(n, m)`` of ``range(n)`` (all of them when m >= n)."""
    return np.arange(n) if m >= n else np.sort(rng.choice(n, m, replace=False))


def _range_index(W, seed: int, nprobe: int = 16):
    """Flat index over W, or an inverted-file one (sqrt(len) lists, ``nprobe`` probed) above FLAT_MAX_WITNESSES."""
    if len(W) <= FLAT_MAX_WITNESSES:
        return flat_index(W)
    faiss = _faiss()
    n, d = W.shape
    nlist = int(np.sqrt(n))
    train = np.ascontiguousarray(W[sample(n, 40 * nlist, np.random.default_rng(seed))], dtype=np.float32)
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
    index.cp.seed = int(seed) % 2**31
    index.train(train)
    for _, b in _blocks(W):
        index.add(b)
    index.nprobe = int(nprobe)
    return index


def range_rows(index, Q, delta: float, cap: int | None = None, rng: np.random.Generator | None = None):
    """Range search of every row of Q, block by block: (count, kept, ids).

    ``count[i]`` is the number of rows within ``delta`` of ``Q[i]``; with ``cap``, a row with more keeps a
    seeded random ``cap`` of them (``kept[i]`` = how many ids row i keeps; ids concatenated in row order).
    """
    r2 = float(np.nextafter(np.float32(float(delta) ** 2), np.float32(np.inf)))  # include |a-b| == delta
    counts, kept, ids = [], [], []
    for s in range(0, len(Q), RANGE_BLOCK):  # small blocks: a block's results (and their shuffle) stay small
        b = np.ascontiguousarray(Q[s:s + RANGE_BLOCK], dtype=np.float32)
        lims, _, idx = index.range_search(b, r2)
        c = np.diff(lims).astype(np.int64)
        counts.append(c)
        if cap is not None and (c > cap).any():
            rows = np.repeat(np.arange(len(c)), c)
            order = np.argsort(rows + rng.random(len(idx)), kind="stable")  # within each row: random order
            rank = np.arange(len(idx)) - lims[:-1][rows[order]]
            idx = idx[np.sort(order[rank < cap])]
            c = np.minimum(c, cap)
        kept.append(c)
        ids.append(idx.astype(np.int32))
    cat = (lambda a, t: np.concatenate(a) if a else np.zeros(0, t))
    return cat(counts, np.int64), cat(kept, np.int64), cat(ids, np.int32)


def witness_graph(Z, delta: float, seed: int, cap: int | None = None):
    """ProbCover's delta-ball graph at scale: candidate balls x witness images, each row capped at ``cap``.

    Balls are centred on a seeded sample of :data:`GRAPH_CANDIDATES` images; coverage is counted on a
    seeded witness sample sized so that a mean ball holds about ``cap`` witnesses (at least
    :data:`GRAPH_MIN_WITNESSES`; the mean ball size comes from 256 pilot balls). A ball holding more
    than ``cap`` witnesses keeps a seeded random ``cap`` of them with weight ``count / cap`` so its
    gain stays an unbiased estimate.

    Returns
    -------
    dict
        ``g`` (CSR, candidates x witnesses, kept edges), ``count`` (witnesses in each full ball),
        ``cand`` and ``wit`` (pool rows), ``index`` (over the witnesses), and the figures reported in
        the Selection's info (``graph_*``).
    """
    import scipy.sparse as sp

    cap = int(DEGREE_CAP if cap is None else cap)
    n = len(Z)
    rng = np.random.default_rng(seed)
    cand = sample(n, GRAPH_CANDIDATES, rng)
    pilot_pool = sample(n, GRAPH_MIN_WITNESSES, rng)
    pilot = pilot_pool[sample(len(pilot_pool), 256, rng)]
    pilot_count, _, _ = range_rows(flat_index(np.asarray(Z[pilot_pool])), np.asarray(Z[pilot]), delta)
    mean_ball = max(1.0, float(pilot_count.mean()) * n / len(pilot_pool))
    m = int(min(n, max(GRAPH_MIN_WITNESSES, np.ceil(cap * n / mean_ball))))
    wit = sample(n, m, rng)
    W = np.asarray(Z[wit])
    index = _range_index(W, seed)
    count, kept, ids = range_rows(index, np.asarray(Z[cand]), delta, cap, rng)
    over = count > cap
    g = sp.csr_matrix((np.ones(len(ids), np.bool_), ids, np.concatenate([[0], np.cumsum(kept)])),
                      shape=(len(cand), m))
    g.sort_indices()
    info = {"graph": "sampled", "graph_candidates": int(len(cand)), "graph_witnesses": int(m),
            "graph_degree_cap": cap, "graph_rows_capped": float(over.mean()),
            "graph_index": "flat" if m <= FLAT_MAX_WITNESSES else "ivf",
            "graph_pilot_mean_ball": float(mean_ball)}
    return {"g": g, "count": count, "cand": cand, "wit": wit, "index": index, "W": W, "info": info}
