"""The experiment logic of a run: selections, the simulated annotator, training and AL state per unit.

Process control (locks, signals, spawning, cancelling) is in :mod:`.runner`; running many units,
serially or in worker processes, is in :mod:`.executors`.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from ..io import append_jsonl, atomic_path, write_parquet
from .config import parse_method
from .store import OVERALL, RunStore, unit_slug
from .units import Unit


def event(name: str, **kw) -> dict:
    """One line of ``events.jsonl``."""
    return dict(event=name, time=time.time(), **kw)


class Work:
    """What the units of one run share in one process (dataset, embeddings, selections), and one unit's work.

    A runner builds one in its own process, or one per worker process; :meth:`run_unit` returns a
    unit's result rows and writes only that unit's own files (predictions, AL state, the selection
    files), never the results table: the executor reports rows to the run store.
    """

    def __init__(self, run_dir, validate: bool = True):
        from ..data.dataset import Dataset
        from ..train.oracle import OracleSettings

        self.store = RunStore.from_dir(run_dir)
        self.cfg = cfg = self.store.config
        self.dir = self.store.dir
        self.ds = Dataset(cfg.dataset)
        if validate:
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
        # the selection cache's name of this pool: "train" as Explore and Label use it, else its content
        from ..select.dataset import pool_indices

        self.pool_name = "train" if np.array_equal(self.pool, pool_indices(self.ds, "train")) else \
            "rows-" + hashlib.sha256(np.asarray(self.pool, np.int64).tobytes()).hexdigest()[:16]
        self.oracle_settings = OracleSettings.from_dict(cfg.oracle)
        self.strata, self.positive_strata = None, ()
        if cfg.strata and cfg.task != "segmentation":  # per-stratum metrics (classification tasks)
            from ..select.strata import stratum_values

            self.strata = stratum_values(self.ds.manifest, cfg.strata)
            self.positive_strata = tuple(sorted(set(self.strata[self.ds.labels == 1])))
        self._emb: dict[str, np.ndarray] = {}
        self._sel: dict[tuple[str, int, int], np.ndarray] = {}
        self.delay = float(os.environ.get("COLDSTART_TEST_UNIT_DELAY", "0") or 0)

    # ---- cached inputs -------------------------------------------------------
    def embedding(self, name: str) -> np.ndarray:
        if name not in self._emb:
            from ..embed import load_embeddings

            self._emb[name] = np.asarray(load_embeddings(self.ds, name), np.float32)
        return self._emb[name]

    def selection(self, method: str, seed: int, draw: int = 0) -> np.ndarray:
        """Pool positions in pick order for ``method`` and ``seed`` (long enough for every budget);
        ``draw`` > 0: random draw ``draw`` of that seed (``random`` with ``draws``)."""
        k = (method, int(seed), int(draw))
        tail = f"__d{int(draw)}" if draw else ""
        path = self.dir / "selections" / f"{unit_slug(method)}__s{int(seed)}{tail}.parquet"
        need = max(self.cfg.budgets[-1] if self.cfg.cold_start else 0, self.cfg.budgets[0])
        if k not in self._sel and path.exists():  # computed by another worker (or before a resume)
            stored = pd.read_parquet(path)["pool_pos"].to_numpy(int)
            if len(stored) == need:
                self._sel[k] = stored
        if k not in self._sel:  # through the selection cache shared with Explore and Label
            from ..embed import get_embedder
            from ..select.cache import cached_select

            from ..select.random_ import draw_seed

            emb, sel = parse_method(method)
            params = self.cfg.selector_kwargs(sel)
            feats = len(self.pool) if emb is None else self.embedding(emb)[self.pool]
            key = None if emb is None else get_embedder(emb, self.ds).key
            s = cached_select(self.ds, sel, feats, key, need, draw_seed(seed, draw), self.pool_name, params)
            idx = np.asarray(s.indices, int)
            if len(idx) != need or len(np.unique(idx)) != need:
                raise ColdstartError(f"selector {sel!r} returned {len(idx)} picks for budget {need}")
            self._sel[k] = idx
            out = pd.DataFrame({"rank": np.arange(1, need + 1), "pool_pos": idx, "index": self.pool[idx],
                                "id": self.ds.ids[self.pool[idx]]})
            write_parquet(path, out)
        return self._sel[k]

    def oracle(self, seed: int):
        from ..train.oracle import Oracle

        return Oracle(self.ds.labels, self.ds.ood, self.ds.ambiguous, self.ds.classes, self.oracle_settings, seed)

    def timed_unit(self, u: Unit) -> tuple[list[dict], str, str, float]:
        """:meth:`run_unit` plus its wall time, which every row records as ``unit_s``."""
        t0 = time.time()
        rows, status, reason = self.run_unit(u)
        if self.delay:  # tests: keep a unit running long enough to be observed
            time.sleep(self.delay)
        seconds = time.time() - t0
        for r in rows:
            r["unit_s"] = seconds
        return rows, status, reason, seconds

    def run_unit(self, u: Unit) -> tuple[list[dict], str, str]:
        """Train one unit; returns its result rows (one per metric), status ("ok"/"untrainable"), reason.

        A cold-start unit of ``random`` with ``draws`` > 1 trains one model per draw and pools them
        (:meth:`_pooled_draws`).
        """
        from ..train.al import next_round

        cfg = self.cfg
        prev_state = None
        if u.phase == "cold" and parse_method(u.method)[1] == "random" and cfg.random_draws > 1:
            return self._pooled_draws(u)
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
        rows, status, reason, _ = self._train(u, picked, prev_state)
        return rows, status, reason

    def _pooled_draws(self, u: Unit) -> tuple[list[dict], str, str]:
        """``random`` as the authors drew it: ``draws`` random selections per seed and budget, one model
        each; the value is the mean over the trainable draws and the SE is computed (with the run's SE
        definition) from their pooled bootstrap draws, as their random-sampling script pools 10 x 100.
        The predictions kept for paired comparisons are the first trainable draw's."""
        from ..metrics import se_of_draws

        n = self.cfg.random_draws
        fits = [self._train(u, self.selection(u.method, u.seed, j)[:u.budget], None, write=(j == 0))
                for j in range(n)]
        ok = [(rows, out) for rows, status, _, out in fits if status == "ok"]
        if not ok:
            rows, status, reason, _ = fits[0]
            return [dict(r, n_draws=n) for r in rows], status, reason
        first_rows, first = ok[0]
        if first is not fits[0][3]:
            write_parquet(self.dir / "predictions" / f"{unit_slug(u.key)}.parquet", first.predictions)
        kind = self.params.get("se", "sd")
        rows = []
        for r in first_rows:
            if r["stratum"] != OVERALL or r["metric"] not in first.metrics:
                rows.append(r)  # per-stratum rows: the first trainable draw's (n_draws 1)
                continue
            m = r["metric"]
            vals = [out.metrics[m][0] for _, out in ok if m in out.metrics]
            pooled = [out.draws[m] for _, out in ok if m in out.draws]
            note = "" if len(ok) == n else f"{n - len(ok)}/{n} random draws untrainable"
            rows.append(dict(r, value=float(np.nanmean(vals)), se=se_of_draws(np.concatenate(pooled), kind) if pooled else np.nan,
                             n_draws=len(ok),
                             reason=note))
        return rows, "ok", ""

    def _train(self, u: Unit, picked, prev_state, write: bool = True):
        """Annotate and train on the pool positions ``picked``: ``(rows, status, reason, TaskOutput or None)``;
        ``write``: store the unit's predictions (and AL state)."""
        from ..train.al import round_params
        from ..train import tasks
        from ..train.base import TASK_METRICS, TaskInput, check_trainable, holdout_split

        cfg = self.cfg
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
                    n_pos=int((tr_lab == 1).sum()), n_neg=int((tr_lab == 0).sum()), n_draws=1, **counts)
        reason = check_trainable(tr_lab, self.ds.classes, cfg.task)
        if reason:
            if u.phase == "al":
                self._save_state(u, picked, None, None)
            return ([dict(base, metric=m, value=np.nan, se=np.nan, status="untrainable", reason=reason,
                          threshold=np.nan, weights="", train_s=0.0, stratum=OVERALL) for m in TASK_METRICS[cfg.task]],
                    "untrainable", reason, None)
        events = self.dir / "events.jsonl"

        def on_epoch(ep, n, info):
            if cfg.task != "probe":
                append_jsonl(events, event("epoch", unit=u.key, epoch=ep, epochs=n, **info))

        inp = TaskInput(self.ds, tr_idx, tr_lab, val_idx, val_lab, self.test, seed=u.seed,
                        features=self.embedding(emb_name) if emb_name else None,
                        score_idx=self.pool if u.phase == "al" else None, init_state=prev_state,
                        on_epoch=on_epoch, n_bootstrap=int(cfg.n_bootstrap), strata=self.strata,
                        positive_strata=self.positive_strata, se_kind=self.params.get("se", "sd"))
        out = tasks.run_task(cfg.task, inp, round_params(cfg.strategy, self.params) if u.phase == "al"
                             else self.params)  # looked up at call time (tests hook it)
        if write:
            write_parquet(self.dir / "predictions" / f"{unit_slug(u.key)}.parquet", out.predictions)
        if u.phase == "al":
            self._save_state(u, picked, out.pool_probs, out.state if cfg.warm_start else None,
                             mc_probs=out.info.get("pool_mc_probs"), threshold=out.info.get("threshold"))
        info = out.info
        common = dict(base, status="ok", threshold=float(info.get("threshold", np.nan)),
                      weights=str(info.get("weights", "")), train_s=float(info.get("train_s", np.nan)))
        rows = [dict(common, metric=m, value=float(v), se=float(se), reason="", stratum=OVERALL)
                for m, (v, se) in out.metrics.items()]
        rows += [dict(common, **r) for r in out.strata]  # stratum, metric, value, se, reason
        return rows, "ok", "", out

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
