"""Private numeric helpers (inputs already validated): feature transforms and
chunked distance computations that never build an N x N matrix."""

from __future__ import annotations

import functools

import numpy as np

CHUNK_BYTES = 64 * 2**20  # memory for one block of distances


def single_thread(func):
    """Run ``func`` with one BLAS thread.

    Selection and diagnostics are many small matrix products (k-means++ steps, QR of thin
    matrices, per-cluster kNN), where BLAS threads cost more than they save: on a shared 2-core
    machine at load 15, TypiClust on 3,882 x 784 took 8.7 s with BLAS threads and 0.57 s with one.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return func(*args, **kwargs)

    return wrapper


def standardize(X: np.ndarray) -> np.ndarray:
    """Z-score per dimension (constant dimensions are only centred), float32.

    Moments are accumulated in float64 over row blocks, so a 100,000 x 1,024 pool needs no
    float64 copy of itself.
    """
    X = np.asarray(X, dtype=np.float32)
    mu = X.mean(axis=0, dtype=np.float64)
    ss = np.zeros(X.shape[1], np.float64)
    step = _rows_per_chunk(X.shape[1] * 2)
    for s in range(0, len(X), step):
        c = X[s:s + step] - mu
        ss += np.einsum("ij,ij->j", c, c)
    sd = np.sqrt(ss / max(len(X), 1))
    sd[sd == 0] = 1.0
    out = X - mu.astype(np.float32)
    out /= sd.astype(np.float32)
    return out


def l2_normalize(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return X / n


COV_MAX_DIM = 4096  # above this width the d x d covariance (128 MB at 4,096) is never formed


def reduce_dim(X: np.ndarray, dim: int | None, seed: int, max_fit: int = 10000) -> np.ndarray:
    """Project centred X on its top ``dim`` principal axes (identity when ``dim`` is None or >= d).

    The axes come from seeded subspace iteration on the covariance of at most
    ``max_fit`` rows (a seeded sample): no full SVD or d x d eigendecomposition,
    which are slow and erratic on a loaded 2-core machine. Above ``COV_MAX_DIM`` dimensions
    (e.g. 224 x 224 pixels, where the covariance would take 20 GB) the same iteration multiplies
    by the centred sample twice (``F.T @ (F @ Q)``) instead of forming the covariance.
    """
    n, d = X.shape
    if dim is None or d <= dim or n <= dim:
        return np.asarray(X, dtype=np.float32)
    X = np.asarray(X, dtype=np.float32)
    fit = X if n <= max_fit else X[np.sort(np.random.default_rng(seed).choice(n, max_fit, replace=False))]
    mu = fit.mean(axis=0, dtype=np.float64)
    F = fit - mu.astype(np.float32)
    if d <= COV_MAX_DIM:
        cov = (F.T @ F).astype(np.float64) / len(F)

        def times_cov(M):
            return cov @ M
    else:
        def times_cov(M):
            return (F.T @ (F @ M.astype(np.float32))).astype(np.float64) / len(F)
    # subspace iteration on the d x d covariance (cheap: no eigendecomposition of d x d)
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(times_cov(rng.standard_normal((d, int(dim) + 10))))[0]
    for _ in range(6):
        Q = np.linalg.qr(times_cov(Q))[0]
    w, U = np.linalg.eigh(Q.T @ times_cov(Q))
    V = (Q @ U[:, ::-1][:, : int(dim)]).astype(np.float32)
    mu32 = mu.astype(np.float32)
    out = np.empty((n, V.shape[1]), np.float32)
    step = _rows_per_chunk(d)
    for s in range(0, n, step):  # in row blocks: no centred copy of a large pool
        out[s:s + step] = (X[s:s + step] - mu32) @ V
    return out


def _rows_per_chunk(m: int) -> int:
    return max(1, min(65536, CHUNK_BYTES // (4 * max(m, 1))))


def sq_dist(A: np.ndarray, B: np.ndarray, bb: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances (len(A), len(B)), clipped at 0."""
    aa = np.einsum("ij,ij->i", A, A)
    if bb is None:
        bb = np.einsum("ij,ij->i", B, B)
    d = aa[:, None] - 2.0 * (A @ B.T) + bb[None, :]
    np.maximum(d, 0, out=d)
    return d


def nearest(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every row of X: index of and distance to its nearest row of C (chunked; faiss at scale)."""
    from .faiss_backend import use_faiss

    if use_faiss(len(X)):
        from .faiss_backend import nearest as faiss_nearest

        return faiss_nearest(X, C)
    X = np.asarray(X, dtype=np.float32)
    C = np.asarray(C, dtype=np.float32)
    cc = np.einsum("ij,ij->i", C, C)
    idx = np.empty(len(X), dtype=np.int64)
    dist = np.empty(len(X), dtype=np.float32)
    step = _rows_per_chunk(len(C))
    for s in range(0, len(X), step):
        d = sq_dist(X[s:s + step], C, cc)
        j = d.argmin(axis=1)
        idx[s:s + step] = j
        dist[s:s + step] = np.sqrt(d[np.arange(len(j)), j])
    return idx, dist


def knn_mean_distance(Q: np.ndarray, X: np.ndarray, k: int, exclude_self: bool = True) -> np.ndarray:
    """Mean distance from each row of Q to its k nearest rows of X (chunked brute force).

    With ``exclude_self`` Q must be X itself (or a prefix-aligned subset) and the
    zero self-distance is dropped by taking the k+1 smallest and discarding the smallest.
    """
    from .faiss_backend import use_faiss

    if use_faiss(len(X)):
        from .faiss_backend import knn_mean_distance as faiss_knn

        return faiss_knn(Q, X, k, exclude_self)
    Q = np.asarray(Q, dtype=np.float32)
    X = np.asarray(X, dtype=np.float32)
    kk = min(k + int(exclude_self), len(X))
    xx = np.einsum("ij,ij->i", X, X)
    out = np.empty(len(Q), dtype=np.float32)
    step = _rows_per_chunk(len(X))
    for s in range(0, len(Q), step):
        d = sq_dist(Q[s:s + step], X, xx)
        if kk < d.shape[1]:
            d = np.partition(d, kk - 1, axis=1)[:, :kk]
        d = np.sort(d, axis=1)
        if exclude_self:
            d = d[:, 1:]
        out[s:s + step] = np.sqrt(d).mean(axis=1) if d.shape[1] else 0.0
    return out


def farthest_first(Z: np.ndarray, n_picks: int, *, seeds: np.ndarray | None = None, first: int | None = None,
                   allowed: np.ndarray | None = None) -> tuple[list[int], list[float]]:
    """Farthest-first traversal (greedy k-center): each pick is the row of Z farthest from all earlier
    picks and from the ``seeds`` points (e.g. already-labeled images).

    Parameters
    ----------
    Z : (n, d) array
    n_picks : int
        Stops earlier when every allowed row is taken.
    seeds : (m, d) array, optional
        Points that count as already picked (they are coordinates, not rows of Z).
    first : int, optional
        Row to pick first (e.g. a seeded random row when there are no seeds).
    allowed : bool array (n,), optional
        Rows that may be picked.

    Returns
    -------
    picks : list of int
    dists : list of float
        Distance of each pick to its nearest earlier pick or seed when chosen (NaN when there was none).
    """
    Z = np.asarray(Z, dtype=np.float32)
    zz = np.einsum("ij,ij->i", Z, Z)
    d2 = np.full(len(Z), np.inf, dtype=np.float64)
    if seeds is not None and len(seeds):
        S = np.asarray(seeds, dtype=np.float32)
        step = _rows_per_chunk(len(Z))
        for s in range(0, len(S), step):
            d2 = np.minimum(d2, sq_dist(S[s:s + step], Z, zz).min(axis=0))
    blocked = np.zeros(len(Z), bool) if allowed is None else ~np.asarray(allowed, bool)
    picks: list[int] = []
    dists: list[float] = []

    def take(p: int) -> None:
        picks.append(p)
        dists.append(float(np.sqrt(d2[p])) if np.isfinite(d2[p]) else float("nan"))
        blocked[p] = True
        np.minimum(d2, sq_dist(Z[p:p + 1], Z, zz)[0], out=d2)

    if first is not None and n_picks > 0:
        take(int(first))
    while len(picks) < n_picks:
        masked = np.where(blocked, -1.0, d2)
        p = int(np.argmax(masked))
        if masked[p] < 0:
            break
        take(p)
    return picks, dists


def kmeanspp(Z: np.ndarray, k: int, rng: np.random.Generator, d2: np.ndarray | None = None,
             centers: list[int] | None = None) -> list[int]:
    """Greedy k-means++ seeding (indices of Z), continuing from ``centers`` if given."""
    centers = list(centers or [])
    zz = np.einsum("ij,ij->i", Z, Z)
    if not centers:
        centers.append(int(rng.integers(len(Z))))
    if d2 is None:
        d2 = np.full(len(Z), np.inf, dtype=np.float64)
        for c in centers:
            d2 = np.minimum(d2, sq_dist(Z, Z[c:c + 1], zz[c:c + 1]).ravel())
    n_trials = 2 + int(np.log(max(k, 2)))
    while len(centers) < k:
        tot = d2.sum()
        if tot <= 0:
            cand = rng.choice(len(Z), n_trials)
        else:
            cand = np.searchsorted(np.cumsum(d2), rng.random(n_trials) * tot)
            cand = np.minimum(cand, len(Z) - 1)
        dc = sq_dist(Z[cand], Z, zz)  # (trials, n)
        pot = np.minimum(dc, d2[None, :]).sum(axis=1)
        best = int(np.argmin(pot))
        centers.append(int(cand[best]))
        d2 = np.minimum(d2, dc[best])
    return centers


def lloyd(Z: np.ndarray, C: np.ndarray, max_iter: int = 30, tol: float = 0.0):
    """Lloyd iterations from centroids ``C``; returns (C, labels, squared distances N x k).

    ``tol`` is an absolute bound on the summed squared centroid shift. An empty
    cluster takes the point worst served by its centroid.
    """
    import scipy.sparse as sp

    Z = np.asarray(Z, dtype=np.float32)
    C = np.asarray(C, dtype=np.float32)
    n, k = len(Z), len(C)
    zz = np.einsum("ij,ij->i", Z, Z)
    for _ in range(max_iter):
        D = sq_dist(Z, C, None) if n * k <= 2**24 else _chunked_sq_dist(Z, C)
        lab = D.argmin(axis=1)
        counts = np.bincount(lab, minlength=k)
        onehot = sp.csr_matrix((np.ones(n, np.float32), (lab, np.arange(n))), shape=(k, n))
        sums = np.asarray(onehot @ Z)
        newC = C.copy()
        nz = counts > 0
        newC[nz] = sums[nz] / counts[nz, None]
        if (~nz).any():
            far = np.argsort(-D[np.arange(n), lab])[: int((~nz).sum())]
            newC[~nz] = Z[far]
        shift = float(((newC - C) ** 2).sum())
        C = newC
        if shift <= tol:
            break
    D = sq_dist(Z, C, None) if n * k <= 2**24 else _chunked_sq_dist(Z, C)
    del zz
    return C, D.argmin(axis=1), D


def _chunked_sq_dist(Z: np.ndarray, C: np.ndarray) -> np.ndarray:
    cc = np.einsum("ij,ij->i", C, C)
    out = np.empty((len(Z), len(C)), np.float32)
    step = _rows_per_chunk(len(C))
    for s in range(0, len(Z), step):
        out[s:s + step] = sq_dist(Z[s:s + step], C, cc)
    return out


def kmeans(Z: np.ndarray, k: int, seed: int, max_iter: int = 50, max_fit: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means++ + Lloyd (fit on at most ``max_fit`` sampled rows, then assign all).

    Returns (centroids, labels). At scale (:mod:`.faiss_backend`) faiss's seeded KMeans does it.
    """
    from .faiss_backend import use_faiss

    if use_faiss(len(Z)):
        from .faiss_backend import kmeans as faiss_kmeans

        return faiss_kmeans(Z, k, seed, max_iter, max_fit, init=kmeanspp)
    Z = np.asarray(Z, dtype=np.float32)
    rng = np.random.default_rng(seed)
    fit = Z if len(Z) <= max_fit else Z[np.sort(rng.choice(len(Z), max_fit, replace=False))]
    C = fit[kmeanspp(fit, int(k), rng)]
    tol = 1e-4 * float(fit.var(axis=0).mean())
    C, _, _ = lloyd(fit, C, max_iter, tol)
    lab, _ = nearest(Z, C)
    return C, lab
