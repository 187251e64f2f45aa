"""scikit-learn's ``KMeans(init="random", n_init=N, random_state=seed)``, its restarts run side by side.

``KMeans.fit`` runs its ``n_init`` restarts one after another. They are independent: each draws
its initial centroids from one ``RandomState(seed)`` (in restart order) and then runs Lloyd's
algorithm, which draws nothing. :class:`RandomRestarts` draws the initial centroids exactly as
``KMeans.fit`` does, in the same order, runs the Lloyd steps (scikit-learn's own
``_kmeans_single_lloyd``) in a thread pool, and keeps the best restart with ``KMeans.fit``'s rule
(lower inertia, and a different clustering, than the best so far, in restart order).

Each restart computes with one OpenMP thread, so the result is the same bits whatever the number
of threads or cores: the centroids, labels and inertia equal ``KMeans.fit`` run with one thread
(``threadpool_limits(1)``), bit for bit (tests/test_select_restarts.py). With several OpenMP threads
``KMeans.fit`` adds per-thread partial sums in an order that depends on the thread count, which
can move a centroid in its last bits.

What does not depend on ``k`` is prepared once per data matrix and shared by every fit of the nested
loop: the centring, the tolerance (relative to the mean feature variance) and the sample weights.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def available_cores() -> int:
    """The cores this process may use (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _is_same_clustering(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """True when label arrays ``a`` and ``b`` are the same partition up to renaming (scikit-learn's test)."""
    from sklearn.cluster._k_means_common import _is_same_clustering as same

    return bool(same(np.ascontiguousarray(a, np.int32), np.ascontiguousarray(b, np.int32), k))


class RandomRestarts:
    """KMeans with random initial centroids and ``n_init`` restarts on one data matrix.

    Parameters
    ----------
    X : (n, d) float32 or float64 array
    tol : float
        scikit-learn's relative tolerance (times the mean per-feature variance of ``X``).
    max_iter : int
        Lloyd iterations per restart at most (scikit-learn's 300).

    Examples
    --------
    >>> km = RandomRestarts(np.random.default_rng(0).normal(size=(60, 3)))
    >>> centers, labels, inertia = km.fit(3, seed=0, n_init=10)
    >>> centers.shape, labels.shape
    ((3, 3), (60,))
    """

    def __init__(self, X: np.ndarray, tol: float = 1e-4, max_iter: int = 300):
        from sklearn.cluster._kmeans import _tolerance

        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        X = np.ascontiguousarray(X)
        self.tol = _tolerance(X, tol)  # on X before centring, as KMeans.fit computes it
        self.mean = X.mean(axis=0)
        self.Xc = X - self.mean  # KMeans.fit: "subtract of mean of x for more accurate distance computations"
        self.weight = np.ones(len(X), dtype=X.dtype)
        self.p = self.weight / self.weight.sum()
        self.max_iter = int(max_iter)

    def _inits(self, k: int, seed: int, n_init: int) -> list[np.ndarray]:
        """Each restart's initial centroids, drawn as ``KMeans._init_centroids(init="random")`` draws them."""
        rs = np.random.RandomState(seed)  # sklearn's check_random_state(int)
        n = len(self.Xc)
        return [self.Xc[rs.choice(n, size=k, replace=False, p=self.p)] for _ in range(n_init)]

    def _lloyd(self, centers_init: np.ndarray):
        from sklearn.cluster._kmeans import _kmeans_single_lloyd

        return _kmeans_single_lloyd(self.Xc, self.weight, centers_init, max_iter=self.max_iter, verbose=False,
                                    tol=self.tol, n_threads=1)

    def fit(self, k: int, seed: int, n_init: int = 10, threads: int | None = None
            ) -> tuple[np.ndarray, np.ndarray, float]:
        """``(cluster_centers_, labels_, inertia_)`` of ``KMeans(k, init="random", n_init, random_state=seed)``;
        ``threads`` restarts at once (default: the cores this process may use, at most ``n_init``)."""
        from threadpoolctl import threadpool_limits

        inits = self._inits(int(k), int(seed), int(n_init))
        threads = min(len(inits), int(threads or available_cores()))
        # scikit-learn limits BLAS to one thread around each Lloyd run; holding that limit here for the
        # whole batch keeps concurrent runs from restoring each other's setting out of order
        with threadpool_limits(1, user_api="blas"):
            if threads > 1:
                with ThreadPoolExecutor(threads, thread_name_prefix="coldstart-kmeans") as pool:
                    runs = list(pool.map(self._lloyd, inits))
            else:
                runs = [self._lloyd(c) for c in inits]
        best = None
        for labels, inertia, centers, _ in runs:  # KMeans.fit's rule, in restart order
            if best is None or (inertia < best[1] and not _is_same_clustering(labels, best[0], k)):
                best = (labels, inertia, centers)
        labels, inertia, centers = best
        return centers + self.mean, labels, float(inertia)
