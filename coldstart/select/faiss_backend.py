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


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
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


def kmeans(Z, k: int, seed: int, max_iter: int = 50, max_fit: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``faiss.Kmeans`` fit on at most ``max_fit`` sampled rows, then every row assigned.

    Returns (centroids, labels).
    """
    faiss = _faiss()
    rng = np.random.default_rng(seed)
    n = len(Z)
    fit = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    F = np.ascontiguousarray(np.asarray(Z[fit]), dtype=np.float32)
    km = faiss.Kmeans(F.shape[1], int(k), niter=int(max_iter), seed=int(seed) % 2**31, nredo=1,
                      max_points_per_centroid=max(1, len(F) // max(int(k), 1) + 1), spherical=False)
    km.train(F)
    C = km.centroids.astype(np.float32)
    return C, nearest(Z, C)[0]


#: ProbCover's delta-ball graph from this many images uses an inverted-file index (approximate).
IVF_MIN_POOL = 200_000


def delta_graph(Z, delta: float, nprobe: int = 16, seed: int = 0):
    """ProbCover's symmetric delta-ball graph (CSR, row i = images within ``delta`` of image i).

    Exact (flat-index range search) below :data:`IVF_MIN_POOL` images; from there an inverted-file
    index (``sqrt(n)`` lists fit on a seeded sample, ``nprobe`` lists searched) finds almost every
    neighbour at a fraction of the cost, and the graph is symmetrised (an edge found from either end
    is kept).
    """
    import scipy.sparse as sp

    faiss = _faiss()
    n, d = Z.shape
    r2 = float(np.nextafter(np.float32(float(delta) ** 2), np.float32(np.inf)))  # include |a-b| == delta
    if n < IVF_MIN_POOL:
        index = flat_index(Z)
    else:
        nlist = int(np.sqrt(n))
        rng = np.random.default_rng(seed)
        train = np.ascontiguousarray(np.asarray(Z[np.sort(rng.choice(n, min(n, 40 * nlist), replace=False))]),
                                     dtype=np.float32)
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
        index.cp.seed = int(seed) % 2**31
        index.train(train)
        for _, b in _blocks(Z):
            index.add(b)
        index.nprobe = int(nprobe)
    counts = np.zeros(n + 1, np.int64)
    pieces = []
    for s, b in _blocks(Z):
        lims, _, idx = index.range_search(b, r2)
        counts[s + 1:s + len(b) + 1] = np.diff(lims)
        pieces.append(idx.astype(np.int32))
    indices = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    g = sp.csr_matrix((np.ones(len(indices), np.bool_), indices, np.cumsum(counts)), shape=(n, n))
    if n >= IVF_MIN_POOL:
        g = ((g + g.T) > 0).tocsr()
    g.sort_indices()
    return g
