"""The ``ray`` executor (the ``[scale]`` extra): each unit of a run is a Ray task on a cluster.

It implements :class:`coldstart.runs.executors.Executor`, so the runner treats it like the local
process pool: the runner's ``finished`` callback appends each unit's rows to the run store, the
only source of truth; resume skips finished units and cancel (the run's cancel flag, checked
every half second) cancels the tasks still queued or running.

- A task runs :meth:`Work.timed_unit` in a Ray worker: the same code, config and seeds as
  ``local``, so the report is identical to the last digit. A worker keeps one ``Work`` per run
  (dataset and embeddings loaded once per worker process).
- Selections are computed first, one task per (method, seed), and stored in the run folder;
  an active-learning round is submitted when the previous round of its (method, seed) finished.
- Resources per task (:func:`unit_resources`): CPUs, GPUs and memory from the task and preset.
- A worker killed mid-unit: the unit is retried (``max_retries``); a unit writes only its own
  files atomically and returns its rows to the runner, so nothing is ever half-written. When the
  retries are spent the run fails with an error naming the unit; finished units are kept and
  ``coldstart resume`` continues.
- The workers see the run folder and the data through ``COLDSTART_DATA`` on shared storage
  (docs/scale.md); every ``COLDSTART_*`` variable of the runner is passed to each task.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ColdstartError
from .units import Schedule, Unit

MAX_RETRIES = 2
#: Memory (MiB) a unit reserves, by task and preset; the probe adds its embedding's size.
MEMORY_MB = {("probe", "quick"): 512, ("probe", "paper"): 512,
             ("classification", "quick"): 1536, ("classification", "paper"): 4096,
             ("segmentation", "quick"): 1536, ("segmentation", "paper"): 4096}


def unit_resources(cfg, cluster: dict, n_rows: int = 0) -> dict:
    """Ray resources of one unit of ``cfg``: ``num_cpus``, ``num_gpus`` and ``memory`` (bytes).

    The probe is one CPU; a network (classification, segmentation) takes one GPU when the cluster
    has GPUs and the preset's device is auto or cuda, else two CPUs. ``n_rows`` (pool size) adds
    the probe embedding's float32 size to its memory.
    """
    mem = MEMORY_MB.get((cfg.task, cfg.preset), 1024) * 2**20
    if cfg.task == "probe":
        return dict(num_cpus=1, num_gpus=0, memory=int(mem + n_rows * 4 * 2048))
    device = str(cfg.params.get("device", "auto"))
    gpu = cluster.get("GPU", 0) > 0 and device in ("auto", "cuda") or device.startswith("cuda:")
    return dict(num_cpus=1 if gpu else min(2, max(1, int(cluster.get("CPU", 1)))), num_gpus=1 if gpu else 0,
                memory=int(mem))


# ---- in the Ray worker ---------------------------------------------------------------------
_WORKS: dict = {}


def _work(run_dir: str, env: dict):
    os.environ.update(env)
    key = (run_dir, tuple(sorted(env.items())))
    if key not in _WORKS:
        from .work import Work

        _WORKS.clear()  # one run per worker at a time
        _WORKS[key] = Work(run_dir, validate=False)
    return _WORKS[key]


def _select_task(run_dir: str, env: dict, method: str, seed: int) -> None:
    _work(run_dir, env).selection(method, seed)


def _unit_task(run_dir: str, env: dict, unit: Unit):
    work = _work(run_dir, env)
    hook = os.environ.get("COLDSTART_TEST_KILL_ONCE")  # tests: the first unit's worker dies mid-unit
    if hook:
        try:
            os.close(os.open(Path(hook) / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return work.timed_unit(unit)


# ---- in the runner -------------------------------------------------------------------------
class RayExecutor:
    """Units as Ray tasks on the cluster at ``address`` (None: a local Ray instance)."""

    def __init__(self, address: str | None = None):
        from ..ray_cluster import check_address

        self.address = check_address(address)
        self.workers = None

    def run(self, run_dir, units, started, finished, stop) -> None:
        from ..ray_cluster import connect
        from .store import RunStore

        ray = connect(self.address)
        run_dir = str(Path(run_dir).resolve())
        cfg = RunStore.from_dir(run_dir).config
        from ..data.dataset import Dataset

        res = unit_resources(cfg, ray.cluster_resources(), len(Dataset(cfg.dataset)))
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        env = {k: v for k, v in os.environ.items() if k.startswith("COLDSTART_")}
        from ..paths import data_root

        env["COLDSTART_DATA"] = str(data_root())
        select = ray.remote(_select_task).options(max_retries=MAX_RETRIES, **res)
        unit = ray.remote(_unit_task).options(max_retries=MAX_RETRIES, **res)
        todo = list(units)
        plan = Schedule(todo)
        pending: dict = {}
        for m, s in dict.fromkeys((u.method, u.seed) for u in todo):
            pending[select.remote(run_dir, env, m, s)] = ("select", (m, s))

        try:
            while todo or pending:
                if stop():
                    return
                for u in [u for u in todo if plan.ready(u)]:
                    todo.remove(u)
                    started(u)
                    pending[unit.remote(run_dir, env, u)] = ("unit", u)
                if not pending:
                    raise ColdstartError(f"units {[u.key for u in todo]} wait for rounds that are not planned")
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in done:
                    kind, job = pending.pop(ref)
                    out = _get(ray, ref, kind, job)
                    plan.record(kind, job, out, finished)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def _get(ray, ref, kind, job):
    """The task's result; a worker that died more than ``MAX_RETRIES`` times is a ColdstartError."""
    from ray.exceptions import RayTaskError, WorkerCrashedError

    what = job.key if kind == "unit" else f"the selection {job[0]} seed {job[1]}"
    try:
        return ray.get(ref)
    except RayTaskError as e:  # the unit's own exception: re-raised as itself, as under local
        raise e.as_instanceof_cause() from None
    except WorkerCrashedError:
        raise ColdstartError(f"{what}: its Ray worker died {MAX_RETRIES + 1} times (out of memory or killed); "
                             "finished units are kept: `coldstart resume` retries it") from None
