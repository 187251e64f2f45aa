"""How long a run will take, before it starts and while it runs; unit keys in words.

Before a run: parts x seconds per part, the seconds taken from earlier runs on this machine
with the same task, preset and device (:func:`estimate_run`). Epoch-based tasks scale with
labelled images x epochs, so their rate is seconds per image-epoch. With no earlier run, the
first-run estimate adds up the measured cost of each kind of work (:mod:`coldstart.runs.costs`:
start-up, embeddings not yet cached, selections not yet cached, probe parts or image-epochs);
without a cost table there is no estimate (:attr:`Estimate.seconds` is None) and the page asks
for confirmation for the epoch tasks, which take minutes to hours per part on a CPU.

While a run runs: :func:`live_eta` uses finished parts, and inside an epoch-based part the
seconds per epoch so far; parts left are shared by the run's workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..paths import data_root
from .config import RunConfig, parse_method
from .executors import default_workers
from .store import RunStore
from .units import plan_units

#: Runs estimated to take longer than this ask for confirmation before they start.
CONFIRM_OVER_S = 300.0
EPOCH_TASKS = ("classification", "segmentation")


def unit_words(key: str) -> str:
    """``cold|pixels:probcover|s0|b100`` -> ``probcover on pixels, seed 0, 100 images``."""
    parts = str(key).split("|")
    if len(parts) != 4:
        return str(key)
    phase, method, seed, last = parts
    emb, sel = parse_method(method)
    what = f"{sel} on {emb}" if emb else sel
    seed = f"seed {seed.lstrip('s')}"
    if phase == "cold":
        return f"{what}, {seed}, {last.lstrip('b')} images"
    return f"{what} then active learning round {last.lstrip('r')}, {seed}"


def _device(cfg: RunConfig) -> str:
    dev = str(cfg.params.get("device", "auto"))
    if dev == "auto":
        from ..device import resolve_device

        dev = resolve_device("auto")
    return dev


def _work(cfg: RunConfig, budget: int) -> float:
    """Units of work of one part: 1 for the probe, labelled images x epochs for epoch tasks."""
    if cfg.task not in EPOCH_TASKS:
        return 1.0
    return float(budget) * float(cfg.params.get("epochs", 1))


@dataclass(frozen=True)
class Estimate:
    parts: int
    seconds: float | None  # None: no earlier run to measure from
    basis: str  # where the number comes from, in words
    task: str = "probe"
    first: bool = False  # from the measured cost table, not from earlier runs

    @property
    def needs_confirmation(self) -> bool:
        """Over 5 minutes, or unknown for network training (minutes to hours per part on a CPU)."""
        if self.seconds is None:
            return self.task in EPOCH_TASKS
        return self.seconds > CONFIRM_OVER_S


def _kind(cfg: RunConfig) -> tuple[str, str, str]:
    """(task, preset, device) of a run; the probe ignores the preset."""
    return cfg.task, cfg.preset if cfg.task in EPOCH_TASKS else "any", _device(cfg)


def history(cfg: RunConfig, root=None) -> pd.DataFrame:
    """Finished parts of earlier runs (any dataset) with the same task, preset and device: unit_s, work."""
    root = data_root(root)
    want = _kind(cfg)
    rows = []
    for rd in sorted(root.glob("*/runs/*")):
        if not (rd / "config.json").exists():
            continue
        try:
            store = RunStore.from_dir(rd)
            old = store.config
            if _kind(old) != want:
                continue
            res = store.results()
        except Exception:  # noqa: BLE001 - an unreadable old run only means less history
            continue
        if not len(res):
            continue
        res = res[res["status"] == "ok"].drop_duplicates("unit")
        for b, s in zip(res["budget"], res["unit_s"]):
            if np.isfinite(float(s)):
                rows.append({"run": rd.name, "unit_s": float(s), "work": _work(old, int(b))})
    return pd.DataFrame(rows, columns=["run", "unit_s", "work"])


def estimate_run(cfg: RunConfig, root=None, dataset=None) -> Estimate:
    """Parts x seconds per part for ``cfg``, from earlier runs on this machine; with none, and given the
    run's ``dataset``, from the measured cost table (see the module docstring)."""
    units = plan_units(cfg)
    h = history(cfg, root)
    task, preset, dev = _kind(cfg)
    what = f"{task} run" + (f" with preset {preset!r}" if preset != "any" else "") + f" on {dev}"
    workers = max(1, min(int(cfg.workers or default_workers()), len(units)))
    if not len(h):
        none = f"no earlier {what} on this machine to measure from"
        if dataset is None:
            return Estimate(len(units), None, none, cfg.task)
        from .costs import first_run_seconds

        seconds, basis = first_run_seconds(cfg, dataset, units, 1 if len(units) < 2 * workers else workers)
        if seconds is None:
            return Estimate(len(units), None, f"{none}; {basis}", cfg.task)
        return Estimate(len(units), seconds, f"first run: {basis}", cfg.task, first=True)
    rate = float(np.median(h["unit_s"] / h["work"]))
    total = sum(rate * _work(cfg, u.budget) for u in units) / workers
    per = "per labelled image and epoch" if cfg.task in EPOCH_TASKS else "per part"
    return Estimate(len(units), total, f"{rate:.3g} s {per}, the median of {len(h)} parts of "
                                       f"{h['run'].nunique()} earlier {what}"
                                       + (f", shared by {workers} workers" if workers > 1 else ""), cfg.task)


def live_eta(store: RunStore, progress: dict | None = None, now: float | None = None) -> tuple[float | None, str]:
    """Seconds left for a running run and how they were estimated (None while nothing is measured)."""
    p = progress or store.progress()
    now = time.time() if now is None else now
    left = max(int(p["units_total"] or 0) - int(p["units_done"] or 0), 0)
    epoch, epochs, started = p.get("epoch"), p.get("epochs"), p.get("unit_started_at")
    if epoch and epochs and started:
        per_epoch = max(now - float(started), 0.0) / float(epoch)
        current = (float(epochs) - float(epoch)) * per_epoch
        res = store.results()
        done = res.drop_duplicates("unit")["unit_s"].astype(float) if len(res) else pd.Series(dtype=float)
        per_part = float(done.mean()) if len(done) else float(epochs) * per_epoch
        basis = (f"epoch {epoch} of {epochs}, {per_epoch:.0f} s per epoch so far"
                 + (f"; {per_part:.0f} s per finished part" if len(done) else ""))
        workers = max(1, int(store.config.workers or default_workers()))
        return current + max(left - 1, 0) * per_part / workers, basis
    if p.get("eta_s") is not None:
        return float(p["eta_s"]), "mean time of the finished parts"
    return None, ""
