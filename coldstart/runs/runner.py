"""Execute a run: units of work (method, seed, budget/round), each recorded once.

``python -m coldstart.runs.runner <run dir>`` is the background entry point
(started fully detached by :func:`start_run`); :func:`execute` is the same
work in the calling process (CLI foreground). A finished unit (one present
in ``results.parquet``) is never recomputed, so a killed run resumes from its
last finished unit with identical results.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..version import __version__
from ..errors import ColdstartError
from ..io import append_jsonl, atomic_path, write_json, write_parquet
from ..paths import data_root
from .config import RunConfig, parse_method
from .units import Unit, plan_units
from .store import CANCEL_FLAG, LOCK, RESULT_COLUMNS, RunStore, find_run, is_locked, runs_dir, unit_slug

class _Cancelled(Exception):
    pass


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------
def create_run(config: RunConfig, validate: bool = True) -> Path:
    """Validate ``config`` against the data and write a new run folder; returns it."""
    if validate:
        config.validate()
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


def _ev(event: str, **kw) -> dict:
    return dict(event=event, time=time.time(), **kw)


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
    lock_fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise ColdstartError(f"run {run_dir.name} is already running: wait for it or cancel it first") from None
    (run_dir / "runner.pid").write_text(str(os.getpid()))
    for tmp in run_dir.rglob(".*.tmp"):  # temp files of a killed runner (we hold the lock: none is live)
        tmp.unlink(missing_ok=True)
    events = run_dir / "events.jsonl"
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
        append_jsonl(events, _ev("started", pid=os.getpid(), n_units=len(units), n_done=len(done & {u.key for u in units})))
        try:
            results = _Work(cfg, store, progress).run(units, done)
        except _Cancelled:
            append_jsonl(events, _ev("cancelled", reason="cancel requested"))
            return store.results()
        except KeyboardInterrupt:
            append_jsonl(events, _ev("cancelled", reason="interrupted (Ctrl-C)"))
            raise
        except ColdstartError as e:
            append_jsonl(events, _ev("error", message=str(e), fatal=True))
            raise
        except Exception as e:  # noqa: BLE001 - recorded, then re-raised
            append_jsonl(events, _ev("error", message=f"{type(e).__name__}: {e}", fatal=True))
            raise
        append_jsonl(events, _ev("finished", n_units=len(units)))
        (run_dir / CANCEL_FLAG).unlink(missing_ok=True)
        return results
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)


class _Work:
    """State shared by the units of one runner process (dataset, embeddings, selections)."""

    def __init__(self, cfg: RunConfig, store: RunStore, progress=None):
        from ..data.dataset import Dataset
        from ..train.oracle import OracleSettings

        self.cfg, self.store, self.dir = cfg, store, store.dir
        self.progress = progress
        self.ds = Dataset(cfg.dataset)
        cfg.validate(self.ds)
        self.params = cfg.params
        self.pool = self.ds.split_indices("train")
        from ..train.base import eval_indices

        self.val_split = eval_indices(self.ds, "val")
        self.test = eval_indices(self.ds, "test")
        if cfg.task == "segmentation":  # the paper's cohort: positive images only (unless include_negatives)
            from ..train.segmentation import cohort

            self.pool, self.val_split, self.test = (cohort(self.ds, i, self.params["include_negatives"])
                                                    for i in (self.pool, self.val_split, self.test))
        self.oracle_settings = OracleSettings.from_dict(cfg.oracle)
        self._emb: dict[str, np.ndarray] = {}
        self._sel: dict[tuple[str, int], np.ndarray] = {}
        self.results = store.results()
        self.delay = float(os.environ.get("COLDSTART_TEST_UNIT_DELAY", "0") or 0)

    # ---- cached inputs -------------------------------------------------------
    def embedding(self, name: str) -> np.ndarray:
        if name not in self._emb:
            from ..embed import load_embeddings

            self._emb[name] = np.asarray(load_embeddings(self.ds, name), np.float32)
        return self._emb[name]

    def selection(self, method: str, seed: int) -> np.ndarray:
        """Pool positions in pick order for ``method`` and ``seed`` (long enough for every budget)."""
        k = (method, int(seed))
        if k not in self._sel:
            from ..select import select

            emb, sel = parse_method(method)
            need = max(self.cfg.budgets[-1] if self.cfg.cold_start else 0, self.cfg.budgets[0])
            params = dict(self.cfg.selector_params.get(sel, {}))
            feats = len(self.pool) if emb is None else self.embedding(emb)[self.pool]
            s = select(sel, feats, need, int(seed), **params)
            idx = np.asarray(s.indices, int)
            if len(idx) != need or len(np.unique(idx)) != need:
                raise ColdstartError(f"selector {sel!r} returned {len(idx)} picks for budget {need}")
            self._sel[k] = idx
            out = pd.DataFrame({"rank": np.arange(1, need + 1), "pool_pos": idx, "index": self.pool[idx],
                                "id": self.ds.ids[self.pool[idx]]})
            write_parquet(self.dir / "selections" / f"{unit_slug(method)}__s{int(seed)}.parquet", out)
        return self._sel[k]

    def oracle(self, seed: int):
        from ..train.oracle import Oracle

        return Oracle(self.ds.labels, self.ds.ood, self.ds.ambiguous, self.ds.classes, self.oracle_settings, seed)

    # ---- loop ------------------------------------------------------------------
    def run(self, units: list[Unit], done: set[str]) -> pd.DataFrame:
        from ..progress import Progress

        todo = [u for u in units if u.key not in done]
        events = self.dir / "events.jsonl"
        with Progress(self.progress, len(units), f"run {self.dir.name}", unit="unit") as bar:
            bar.update(len(units) - len(todo), "resumed")
            for u in todo:
                if (self.dir / CANCEL_FLAG).exists():
                    raise _Cancelled()
                append_jsonl(events, _ev("unit-started", unit=u.key))
                t0 = time.time()
                rows, status, reason = self.run_unit(u)
                if self.delay:
                    time.sleep(self.delay)
                for r in rows:
                    r["unit_s"] = time.time() - t0
                new = pd.DataFrame(rows, columns=RESULT_COLUMNS)
                self.results = new if not len(self.results) else pd.concat([self.results, new], ignore_index=True)
                write_parquet(self.dir / "results.parquet", self.results)
                if status == "untrainable":
                    append_jsonl(events, _ev("unit-untrainable", unit=u.key, reason=reason))
                else:
                    append_jsonl(events, _ev("unit-finished", unit=u.key, seconds=time.time() - t0))
                bar.update(1, u.key)
        return self.results

    def run_unit(self, u: Unit) -> tuple[list[dict], str, str]:
        from ..train.al import next_round, round_params
        from ..train import tasks
        from ..train.base import TASK_METRICS, TaskInput, check_trainable, holdout_split

        cfg = self.cfg
        prev_state = None
        if u.phase == "cold":
            picked = self.selection(u.method, u.seed)[:u.budget]
        elif u.round == 0:
            picked = self.selection(u.method, u.seed)[:cfg.budgets[0]]
        else:
            prev = self._load_state(Unit("al", u.method, u.seed, cfg.al_budgets[u.round - 1], u.round - 1))
            emb = parse_method(u.method)[0] or cfg.probe_embedding(u.method)
            new = next_round(cfg.strategy, prev, len(self.pool), cfg.query_size, u.seed * 1000 + u.round,
                             ood_filter=cfg.ood_filter, features=lambda: self.embedding(emb)[self.pool],
                             badge_features=lambda: self.embedding(cfg.probe_embedding(u.method))[self.pool],
                             annotate=lambda pos: self.oracle(u.seed).annotate(self.pool[pos])["label"])
            picked = np.concatenate([prev["picked"], new])
            prev_state = prev.get("model") if cfg.warm_start else None
        rows_idx = self.pool[picked]
        ans = self.oracle(u.seed).annotate(rows_idx)
        from ..train.oracle import waste_summary

        counts = waste_summary(ans)
        usable = ans[ans["usable"]]
        tr_idx, tr_lab = usable["index"].to_numpy(int), usable["label"].to_numpy(int)
        if cfg.val_mode == "holdout":
            tr_idx, tr_lab, val_idx, val_lab = holdout_split(tr_idx, tr_lab)
        else:
            val_idx, val_lab = self.val_split, self.ds.labels[self.val_split]
        emb_name = cfg.probe_embedding(u.method) if cfg.task == "probe" else None
        base = dict(unit=u.key, phase=u.phase, method=u.method, embedder=parse_method(u.method)[0] or "",
                    selector=parse_method(u.method)[1], strategy=cfg.strategy if u.phase == "al" else "",
                    seed=u.seed, round=u.round, budget=u.budget, task=cfg.task, probe_embedder=emb_name or "",
                    n_pos=int((tr_lab == 1).sum()), n_neg=int((tr_lab == 0).sum()), **counts)
        reason = check_trainable(tr_lab, self.ds.classes, cfg.task)
        if reason:
            if u.phase == "al":
                self._save_state(u, picked, None, None)
            return ([dict(base, metric=m, value=np.nan, se=np.nan, status="untrainable", reason=reason,
                          threshold=np.nan, weights="", train_s=0.0) for m in TASK_METRICS[cfg.task]],
                    "untrainable", reason)
        events = self.dir / "events.jsonl"

        def on_epoch(ep, n, info):
            if cfg.task != "probe":
                append_jsonl(events, _ev("epoch", unit=u.key, epoch=ep, epochs=n, **info))

        inp = TaskInput(self.ds, tr_idx, tr_lab, val_idx, val_lab, self.test, seed=u.seed,
                        features=self.embedding(emb_name) if emb_name else None,
                        score_idx=self.pool if u.phase == "al" else None, init_state=prev_state,
                        on_epoch=on_epoch, n_bootstrap=int(cfg.n_bootstrap))
        out = tasks.run_task(cfg.task, inp, round_params(cfg.strategy, self.params) if u.phase == "al"
                             else self.params)  # looked up at call time (tests hook it)
        write_parquet(self.dir / "predictions" / f"{unit_slug(u.key)}.parquet", out.predictions)
        if u.phase == "al":
            self._save_state(u, picked, out.pool_probs, out.state if cfg.warm_start else None,
                             mc_probs=out.info.get("pool_mc_probs"), threshold=out.info.get("threshold"))
        info = out.info
        return ([dict(base, metric=m, value=float(v), se=float(se), status="ok", reason="",
                      threshold=float(info.get("threshold", np.nan)), weights=str(info.get("weights", "")),
                      train_s=float(info.get("train_s", np.nan)))
                 for m, (v, se) in out.metrics.items()], "ok", "")

    # ---- AL state (so that a resumed run continues a round exactly) ------------
    def _state_path(self, u: Unit) -> Path:
        return self.dir / "state" / f"{unit_slug(u.key)}.npz"

    def _save_state(self, u: Unit, picked, probs, model_state, mc_probs=None, threshold=None) -> None:
        p = self._state_path(u)
        arrays = dict(picked=np.asarray(picked, np.int64))
        if probs is not None:
            arrays["probs"] = np.asarray(probs, np.float32)
        if mc_probs is not None:
            arrays["mc_probs"] = np.asarray(mc_probs, np.float32)
        if threshold is not None and np.isfinite(threshold):
            arrays["threshold"] = np.float64(threshold)
        with atomic_path(p, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        if model_state is not None:
            import torch

            with atomic_path(p.with_suffix(".pt")) as tmp:
                torch.save(model_state, tmp)

    def _load_state(self, u: Unit) -> dict:
        p = self._state_path(u)
        if not p.exists():
            raise ColdstartError(f"AL state of {u.key} is missing in {p.parent}: start a new run")
        with np.load(p) as z:
            st = {k: z[k] for k in z.files}
        if self.cfg.warm_start and p.with_suffix(".pt").exists():
            import torch

            st["model"] = torch.load(p.with_suffix(".pt"), map_location="cpu", weights_only=True)
        return st


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
