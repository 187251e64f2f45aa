"""Process control of a run: create, start (detached), resume, cancel, and execute under the run's lock.

``python -m coldstart.runs.runner <run dir>`` is the background entry point
(started fully detached by :func:`start_run`); :func:`execute` is the same
work in the calling process (CLI foreground). A finished unit (one recorded
in ``results.jsonl``) is never recomputed, so a killed run resumes from its
last finished unit with identical results. What a unit does is in :mod:`.work`;
how many units run at once is the executor's business (:mod:`.executors`).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
from filelock import Timeout

from ..version import __version__
from ..errors import ColdstartError, error_kind
from ..io import append_jsonl, write_json
from ..paths import data_root
from .config import RunConfig
from .executors import make_executor
from .store import CANCEL_FLAG, RESULTS, RunStore, cut_torn_tail, find_run, is_locked, run_lock, runs_dir
from .units import plan_units
from .work import event as _ev

class _Cancelled(Exception):
    pass


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------
def create_run(config: RunConfig, validate: bool = True) -> Path:
    """Validate ``config`` against the data and write a new run folder; returns it."""
    config.check()  # fills what was left unset (preset, methods, seeds) as from_dict does
    if validate:
        config.validate()
    config.pin_probe_embedder(config.dataset)
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{config.task}-{secrets.token_hex(2)}"
    d = runs_dir(config.dataset) / run_id
    d.mkdir(parents=True, exist_ok=False)
    write_json(d / "config.json", dict(config.to_dict(), run_id=run_id, version=__version__,
                                        created=time.strftime("%Y-%m-%d %H:%M:%S"), created_ts=time.time()))
    return d


def start_run(config: RunConfig | dict, background: bool = True, progress=None) -> str:
    """Validate, create the run folder and execute it; returns the run id.

    Parameters
    ----------
    config : RunConfig or dict
    background : bool
        True: a detached process (``python -m coldstart.runs.runner``) does the work, so closing
        the browser or the terminal does not stop it. False: run here, now.
    progress : None, True or callable(done, total, message)
        Foreground only: unit-level progress.
    """
    if isinstance(config, dict):
        config = RunConfig.from_dict(config)
    d = create_run(config)
    if background:
        _spawn(d)
    else:
        execute(d, progress=progress)
    return d.name


def resume_run(dataset: str | None, run_id: str, background: bool = True, progress=None) -> str:
    """Continue a stopped run from its last finished unit (finished units are not recomputed)."""
    d = find_run(run_id)[1] if dataset is None else RunStore(dataset, run_id).dir
    if is_locked(d):
        raise ColdstartError(f"run {run_id} is already running (pid {RunStore.from_dir(d).pid()}): "
                             "wait for it or cancel it first")
    (d / CANCEL_FLAG).unlink(missing_ok=True)
    append_jsonl(d / "events.jsonl", _ev("resume-requested"))  # status "starting" until a runner takes over
    if background:
        _spawn(d)
    else:
        execute(d, progress=progress)
    return run_id


def cancel_run(dataset: str | None, run_id: str) -> str:
    """Ask a run to stop (SIGTERM to its runner; finished units are kept). Returns the new status."""
    d = find_run(run_id)[1] if dataset is None else RunStore(dataset, run_id).dir
    store = RunStore.from_dir(d)
    (d / CANCEL_FLAG).write_text(str(time.time()))
    pid = store.pid()
    if is_locked(d) and pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(100):  # wait up to 10 s for the runner to record it
            if not is_locked(d):
                break
            time.sleep(0.1)
        return store.status()
    if store.status() != "finished":
        append_jsonl(d / "events.jsonl", _ev("cancelled", reason="cancelled while not running"))
    return store.status()


def _spawn(run_dir: Path) -> int:
    env = dict(os.environ, COLDSTART_DATA=str(data_root()))
    log = open(run_dir / "runner.log", "ab")
    p = subprocess.Popen([sys.executable, "-m", "coldstart.runs.runner", str(run_dir)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True, env=env, cwd=os.getcwd())
    log.close()
    # wait() in a thread reaps the runner when it ends (finished or cancelled), so no zombie child
    # stays behind in a long-lived parent such as the Streamlit server
    threading.Thread(target=p.wait, name=f"reap-runner-{p.pid}", daemon=True).start()
    (run_dir / "runner.pid").write_text(str(p.pid))
    return p.pid


# ---------------------------------------------------------------------------
# the work
# ---------------------------------------------------------------------------
def execute(run_dir, progress=None) -> pd.DataFrame:
    """Run every unfinished unit of the run in ``run_dir`` in this process; returns the results table.

    Holds the run's lock (a second runner on the same run is refused), records
    events, and turns SIGTERM into a clean "cancelled".
    """
    run_dir = Path(run_dir).resolve()
    store = RunStore.from_dir(run_dir)
    cfg = store.config
    lock = run_lock(run_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ColdstartError(f"run {run_dir.name} is already running: wait for it or cancel it first") from None
    (run_dir / "runner.pid").write_text(str(os.getpid()))
    for tmp in run_dir.rglob(".*.tmp"):  # temp files of a killed runner (we hold the lock: none is live)
        tmp.unlink(missing_ok=True)
    events = run_dir / "events.jsonl"
    for log in (events, run_dir / RESULTS):  # a line torn by a kill mid-append
        cut_torn_tail(log)
    old = None

    def on_term(signum, frame):
        raise _Cancelled()

    try:
        try:
            old = signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread: rely on the cancel flag
            old = None
        units = plan_units(cfg)
        done = store.done_units()
        todo = [u for u in units if u.key not in done]
        executor = make_executor(cfg.workers, len(todo), cfg.executor, cfg.address)
        append_jsonl(events, _ev("started", pid=os.getpid(), n_units=len(units), n_done=len(units) - len(todo),
                                 executor=type(executor).__name__, workers=getattr(executor, "workers", 1)))
        try:
            _run_units(store, executor, len(units), todo, progress)
        except _Cancelled:
            append_jsonl(events, _ev("cancelled", reason="cancel requested"))
            return store.results()
        except KeyboardInterrupt:
            append_jsonl(events, _ev("cancelled", reason="interrupted (Ctrl-C)"))
            raise
        except ColdstartError as e:
            append_jsonl(events, _ev("error", message=str(e), kind=error_kind(e), fatal=True))
            raise
        except Exception as e:  # noqa: BLE001 - recorded, then re-raised
            append_jsonl(events, _ev("error", message=f"{type(e).__name__}: {e}", kind=error_kind(e), fatal=True))
            raise
        append_jsonl(events, _ev("finished", n_units=len(units)))
        (run_dir / CANCEL_FLAG).unlink(missing_ok=True)
        return store.results()
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
        lock.release()


def _run_units(store: RunStore, executor, n_units: int, todo: list, progress=None) -> None:
    """Hand the unfinished units to the executor; record each one in the run store as it finishes."""
    from ..progress import Progress

    events = store.dir / "events.jsonl"
    cancel = store.dir / CANCEL_FLAG

    def started(u) -> None:
        append_jsonl(events, _ev("unit-started", unit=u.key))

    def stop() -> bool:
        if cancel.exists():
            raise _Cancelled()
        return False

    with Progress(progress, n_units, f"run {store.run_id}", unit="unit") as bar:
        bar.update(n_units - len(todo), "resumed")

        def finished(u, rows, status, reason, seconds) -> None:
            store.append_results(u.key, rows)
            if status == "untrainable":
                append_jsonl(events, _ev("unit-untrainable", unit=u.key, reason=reason))
            else:
                append_jsonl(events, _ev("unit-finished", unit=u.key, seconds=seconds))
            bar.update(1, u.key)

        executor.run(store.dir, todo, started, finished, stop)


def main(argv=None) -> int:
    """Background entry point: ``python -m coldstart.runs.runner <run dir>``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m coldstart.runs.runner RUN_DIR", file=sys.stderr)
        return 2
    try:
        execute(argv[0])
    except ColdstartError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
