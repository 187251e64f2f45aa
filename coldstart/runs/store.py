"""The run store: one folder per run, read by the CLI and the pages.

``<data root>/<dataset>/runs/<run-id>/``

- ``config.json``      the :class:`RunConfig` plus ``run_id``, ``created``
- ``events.jsonl``     append-only log (resume-requested, started, unit-started, epoch, unit-finished,
                       unit-untrainable, error, finished, cancelled), flushed per line
- ``results.jsonl``    one line per finished unit holding its rows (unit x metric: value +
                       bootstrap SE), appended and flushed by the runner process only; a torn
                       last line (a kill mid-append) is ignored and cut off by the next runner.
                       Runs written before this layout keep a ``results.parquet`` (read too).
- ``predictions/<unit>.parquet``  per-test-sample predictions (paired comparisons)
- ``selections/<method>__s<seed>.parquet``  the ordered picks (pool positions, dataset ids)
- ``state/<unit>.npz`` (+ ``.pt``)  AL state after a round: picked positions, pool probabilities
- ``runner.pid``, ``runner.log``, ``.runner.lock`` (a ``filelock`` lock held while a runner works on
  the run; the OS releases it when the runner dies, even on SIGKILL)
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from ..errors import ColdstartError
from ..io import append_jsonl, read_json, read_jsonl
from ..paths import data_root, dataset_dir, validate_name

LOCK = ".runner.lock"
CANCEL_FLAG = "cancel.requested"
RUN_META = ("run_id", "created", "created_ts", "version")
TERMINAL = ("finished", "cancelled", "failed")


def runs_dir(dataset: str) -> Path:
    return dataset_dir(dataset) / "runs"


def find_run(run_id: str) -> tuple[str, Path]:
    """``(dataset, run dir)`` of ``run_id``, found by scanning the data root."""
    validate_name(run_id, "run id")
    root = data_root()
    hits = sorted(root.glob(f"*/runs/{run_id}/config.json")) if root.exists() else []
    if not hits:
        raise ColdstartError(f"run {run_id!r} not found under {root}: list runs with `coldstart runs`")
    p = hits[0].parent
    return p.parent.parent.name, p


def unit_slug(key: str) -> str:
    """A file-name-safe form of a unit key."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "~", key)


def run_lock(run_dir: Path) -> FileLock:
    """The lock a runner holds on ``run_dir`` while it works (``acquire(timeout=0)`` fails when held)."""
    return FileLock(str(Path(run_dir) / LOCK))


def is_locked(run_dir: Path) -> bool:
    """True while a runner process holds the run's lock (released by the OS even on SIGKILL)."""
    if not (Path(run_dir) / LOCK).exists():
        return False
    lock = run_lock(run_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def cut_torn_tail(path: Path) -> None:
    """Cut a half-written last line off a JSON-lines file (call only while holding the run lock)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


class RunStore:
    """Read access to one run folder (tolerant of a run that is being written).

    Parameters
    ----------
    dataset : str
    run_id : str
    """

    def __init__(self, dataset: str, run_id: str):
        validate_name(run_id, "run id")
        self.dataset = dataset
        self.run_id = run_id
        self.dir = runs_dir(dataset) / run_id
        if not (self.dir / "config.json").exists():
            raise ColdstartError(f"run {run_id!r} not found in dataset {dataset!r}: list runs with "
                                 f"`coldstart runs {dataset}`")

    @classmethod
    def from_dir(cls, run_dir) -> "RunStore":
        run_dir = Path(run_dir).resolve()
        obj = cls.__new__(cls)
        obj.dir, obj.run_id, obj.dataset = run_dir, run_dir.name, run_dir.parent.parent.name
        if not (run_dir / "config.json").exists():
            raise ColdstartError(f"{run_dir} is not a run folder (no config.json)")
        return obj

    # ---- contents --------------------------------------------------------
    @property
    def raw_config(self) -> dict:
        return read_json(self.dir / "config.json")

    @property
    def config(self):
        from .config import RunConfig

        d = {k: v for k, v in self.raw_config.items() if k not in RUN_META}
        return RunConfig.from_dict(d)

    def events(self) -> list[dict]:
        return read_jsonl(self.dir / "events.jsonl")

    def results(self) -> pd.DataFrame:
        """One row per finished unit x metric (RESULT_COLUMNS), in the order units finished."""
        from ..metrics import METRIC_ALIASES

        frames = []
        legacy = self.dir / "results.parquet"
        if legacy.exists():
            frames.append(pd.read_parquet(legacy))
        rows = [r for line in read_jsonl(self.dir / RESULTS) for r in line.get("rows", [])]
        if rows:
            frames.append(pd.DataFrame(rows, columns=RESULT_COLUMNS))
        if not frames:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        r = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        stratum = r["stratum"].fillna(OVERALL) if "stratum" in r else OVERALL  # rows written before strata
        draws = r["n_draws"].fillna(1) if "n_draws" in r else 1  # rows written before random draws: one draw
        return r.assign(metric=r["metric"].replace(METRIC_ALIASES), stratum=stratum,
                        n_draws=draws).astype(RESULT_DTYPES)

    def results_stamp(self) -> float:
        """Changes whenever a unit's results are recorded (for caches of the pages)."""
        ps = [self.dir / RESULTS, self.dir / "results.parquet"]
        return sum(p.stat().st_mtime + p.stat().st_size for p in ps if p.exists())

    def append_results(self, unit: str, rows: list[dict]) -> None:
        """Record one finished unit: its rows as one flushed line (only the runner holding the lock writes)."""
        append_jsonl(self.dir / RESULTS, {"unit": unit, "rows": rows})

    def predictions(self, unit: str) -> pd.DataFrame:
        """Per-test-sample predictions of one unit (columns index, y, score/pred or dice...)."""
        p = self.dir / "predictions" / f"{unit_slug(unit)}.parquet"
        if not p.exists():
            raise ColdstartError(f"no predictions for unit {unit!r} in run {self.run_id}: it has not finished")
        return pd.read_parquet(p)

    def selection(self, method: str, seed: int) -> pd.DataFrame:
        p = self.dir / "selections" / f"{unit_slug(method)}__s{int(seed)}.parquet"
        return pd.read_parquet(p) if p.exists() else pd.DataFrame()

    def done_units(self) -> set[str]:
        r = self.results()
        return set(r["unit"].unique()) if len(r) else set()

    # ---- status ----------------------------------------------------------
    def pid(self) -> int | None:
        try:
            return int((self.dir / "runner.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def status(self, events: list[dict] | None = None) -> str:
        """running / finished / failed / cancelled / interrupted / starting (created or resumed, no runner yet)."""
        if is_locked(self.dir):
            return "running"
        ev = self.events() if events is None else events
        last, asked = None, 0.0
        for e in ev:
            t = e.get("event")
            if t in ("started", "finished", "cancelled", "resume-requested") or (t == "error" and e.get("fatal")):
                last, asked = t, float(e.get("time", 0) or 0)
        if last == "resume-requested":
            return "starting" if time.time() - asked < 60 else "interrupted"
        if last == "finished":
            return "finished"
        if last == "cancelled":
            return "cancelled"
        if last == "error":
            return "failed"
        if last is None:
            created = self.raw_config.get("created_ts", 0)
            return "starting" if time.time() - created < 60 else "interrupted"
        return "interrupted"

    def progress(self) -> dict:
        """Units done/total, current unit and epoch, ETA, status and the last error message and its kind
        (:data:`coldstart.errors.ERROR_KINDS`)."""
        ev = self.events()
        res = self.results()
        done = int(res["unit"].nunique()) if len(res) else 0
        total = None
        for e in ev:
            if e.get("event") == "started":
                total = e.get("n_units")
        if total is None:
            try:
                from .units import plan_units

                total = len(plan_units(self.config))
            except ColdstartError:
                total = 0
        current, epoch, epochs, started_at = None, None, None, None
        finished_units = set()
        error, error_kind = None, None
        for e in ev:
            t = e.get("event")
            if t == "unit-started":
                current, epoch, epochs, started_at = e.get("unit"), None, None, e.get("time")
            elif t == "epoch" and e.get("unit") == current:
                epoch, epochs = e.get("epoch"), e.get("epochs")
            elif t in ("unit-finished", "unit-untrainable"):
                finished_units.add(e.get("unit"))
                if e.get("unit") == current:
                    current = None
            elif t == "error":  # runs before error kinds: None (the advice is then the generic one)
                error, error_kind = e.get("message"), e.get("kind")
            elif t == "started":
                error, error_kind = None, None
        status = self.status(ev)
        if status != "running":
            current = None
        eta = None
        if len(res) and total:
            per = res.drop_duplicates("unit")["unit_s"].astype(float)
            eta = float(per.mean() * max(total - done, 0)) if len(per) else None
        return dict(run_id=self.run_id, dataset=self.dataset, status=status, units_done=done,
                    units_total=int(total or 0), current_unit=current, epoch=epoch, epochs=epochs,
                    unit_started_at=started_at, eta_s=eta if status == "running" else None, error=error,
                    error_kind=error_kind)


RESULTS = "results.jsonl"
_STR, _INT, _FLOAT = "object", "int64", "float64"
#: column -> dtype of the results table
RESULT_DTYPES = {
    "unit": _STR, "phase": _STR, "method": _STR, "embedder": _STR, "selector": _STR, "strategy": _STR,
    "seed": _INT, "round": _INT, "budget": _INT, "metric": _STR, "value": _FLOAT, "se": _FLOAT, "status": _STR,
    "reason": _STR, "n_labeled": _INT, "n_usable": _INT, "n_wasted": _INT, "n_ood": _INT, "n_ambiguous": _INT,
    "n_noisy": _INT, "n_pos": _INT, "n_neg": _INT, "threshold": _FLOAT, "weights": _STR, "probe_embedder": _STR,
    "task": _STR, "train_s": _FLOAT, "unit_s": _FLOAT, "stratum": _STR, "n_draws": _INT,
}
OVERALL = "all"  # the stratum of the overall rows (runs without --strata have only these)
RESULT_COLUMNS = list(RESULT_DTYPES)


def list_runs(dataset: str | None = None) -> pd.DataFrame:
    """Runs of ``dataset`` (all datasets when None), newest first.

    Columns: dataset, run_id, created, task, methods, status, units_done, units_total.
    """
    root = data_root()
    names = [dataset] if dataset else sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []
    rows = []
    for ds in names:
        d = runs_dir(ds)
        if not d.exists():
            continue
        for rd in d.iterdir():
            if not (rd / "config.json").exists():
                continue
            s = RunStore.from_dir(rd)
            try:
                cfg = s.raw_config
                pr = s.progress()
            except Exception as e:  # noqa: BLE001 - one broken run must not hide the others
                rows.append(dict(dataset=ds, run_id=rd.name, created="", task="?", methods="",
                                 status=f"unreadable: {e}", units_done=0, units_total=0))
                continue
            rows.append(dict(dataset=ds, run_id=rd.name, created=cfg.get("created", ""), task=cfg.get("task"),
                             methods=",".join(cfg.get("methods", [])), status=pr["status"],
                             units_done=pr["units_done"], units_total=pr["units_total"]))
    cols = ["dataset", "run_id", "created", "task", "methods", "status", "units_done", "units_total"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values("created", ascending=False, kind="stable").reset_index(drop=True)
