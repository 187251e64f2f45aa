"""Executors: run a list of units and report each finished unit; the run store records it.

An executor gets the run folder, the units still to do, and three callbacks:
``started(unit)``, ``finished(unit, rows, status, reason, seconds)`` and ``stop() -> bool``
(checked between units; a cancel raises in the caller). It never writes results itself: the
runner's ``finished`` appends them to the run store, the only source of truth. So a ``ray``
executor (for the ``[scale]`` extra) only has to implement :class:`Executor`.

- :class:`SerialExecutor` runs the units in this process, in plan order.
- :class:`LocalExecutor` runs them in ``workers`` processes (``concurrent.futures``, spawn): each
  worker loads the dataset and embeddings once; selections are computed once per (method, seed)
  by whichever worker gets them and stored in the run folder; an AL round starts when the previous
  round of its (method, seed) has finished.
"""

from __future__ import annotations

import os
import sys
import types
from contextlib import contextmanager
from typing import Callable, Protocol

from .units import Schedule, Unit

Finished = Callable[[Unit, list, str, str, float], None]


class Executor(Protocol):
    def run(self, run_dir, units: list[Unit], started: Callable[[Unit], None], finished: Finished,
            stop: Callable[[], bool]) -> None: ...


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def make_executor(workers: int | None, n_units: int, executor: str = "local", address: str | None = None) -> Executor:
    """Serial for one worker or few units (a worker process costs about a second to start), else local;
    ``executor="ray"``: :class:`coldstart.runs.ray_executor.RayExecutor` on the cluster at ``address``."""
    if executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(address)
    n = default_workers() if workers is None else int(workers)
    if n <= 1 or n_units < 2 * n:
        return SerialExecutor()
    return LocalExecutor(n)


class SerialExecutor:
    """Every unit in this process, in the order given."""

    def run(self, run_dir, units, started, finished, stop) -> None:
        from .work import Work

        work = Work(run_dir)
        for u in units:
            if stop():
                return
            started(u)
            rows, status, reason, seconds = work.timed_unit(u)
            finished(u, rows, status, reason, seconds)


# ---- worker processes ------------------------------------------------------------------
_WORK = None


def _init_worker(run_dir: str) -> None:
    """Worker start: die with the runner (Linux), one BLAS thread per worker, load the run once."""
    global _WORK
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    from .work import Work

    _WORK = Work(run_dir, validate=False)


def _noop(_) -> None:
    return None


@contextmanager
def _plain_main():
    """Spawned workers re-run the parent's ``__main__`` script unless it is an importable module; a script
    that must not run twice (a Streamlit page, a user's script without a main guard) is hidden meanwhile."""
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _select(method: str, seed: int) -> None:
    _WORK.selection(method, seed)


def _unit(u: Unit):
    return _WORK.timed_unit(u)


class LocalExecutor:
    """Units in ``workers`` processes on this machine, each finished unit reported as it finishes."""

    def __init__(self, workers: int):
        self.workers = int(workers)

    def run(self, run_dir, units, started, finished, stop) -> None:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        from ..embed import ensure_embeddings
        from .work import Work

        work = Work(run_dir)  # validates
        for e in work.cfg.embedders():  # fill the cache once for all workers, without holding it here
            ensure_embeddings(work.ds, e)
        todo = list(units)
        pairs = list(dict.fromkeys((u.method, u.seed) for u in todo))
        plan = Schedule(todo)

        pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                   initargs=(str(run_dir),))
        pending: dict = {}
        try:
            with _plain_main():  # start every worker now, while __main__ is neutral
                list(pool.map(_noop, range(self.workers)))
            while todo or pairs or pending:
                while len(pending) < self.workers and not stop():
                    if pairs:
                        m, s = pairs.pop(0)
                        pending[pool.submit(_select, m, s)] = ("select", (m, s))
                        continue
                    nxt = next((u for u in todo if plan.ready(u)), None)
                    if nxt is None:
                        break
                    todo.remove(nxt)
                    started(nxt)
                    pending[pool.submit(_unit, nxt)] = ("unit", nxt)
                if stop():
                    return
                done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    kind, job = pending.pop(f)
                    out = f.result()  # a worker's exception is raised here, and the run fails with it
                    plan.record(kind, job, out, finished)
        finally:
            _shutdown(pool)


def _shutdown(pool) -> None:
    """Stop the workers now (a cancel or an error must not leave them computing)."""
    procs = list(getattr(pool, "_processes", {}).values())  # Python < 3.14 has no public terminate
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
