"""Many labeling sessions of a dataset: list them, compare their curves."""

from __future__ import annotations

import pandas as pd

from ..errors import ColdstartError
from ..io import read_json
from .session import LabelSession, sessions_dir


def list_sessions(dataset) -> pd.DataFrame:
    """Saved sessions of a dataset: name, student, labels, created, coldstart, embedder (newest first)."""
    rows = []
    for p in sorted(sessions_dir(dataset).glob("*.json")):
        try:
            cfg = read_json(p)
        except (OSError, ValueError):
            continue
        lab = p.with_suffix(".parquet")
        n = len(pd.read_parquet(lab, columns=["step"])) if lab.exists() else 0
        rows.append({"name": cfg.get("name", p.stem), "student": cfg.get("student", ""), "labels": n,
                     "created": cfg.get("created", ""), "coldstart": cfg.get("coldstart", ""),
                     "embedder": cfg.get("embedder", ""), "strategy": cfg.get("strategy", "")})
    df = pd.DataFrame(rows, columns=["name", "student", "labels", "created", "coldstart", "embedder", "strategy"])
    return df.sort_values("created", ascending=False, kind="stable").reset_index(drop=True)


def compare_sessions(dataset, names, features: np.ndarray, with_random: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves (long: ``session, n_labels, auprc``) and a summary row per session.

    Sessions must use the same embedding (``features``); the random-sampling
    reference is the one of the first session, extended to the longest session.
    """
    if not names:
        raise ColdstartError("no sessions chosen: pick at least one session to compare")
    sessions = [LabelSession.open(dataset, n, features) for n in names]
    emb = {s.config.embedder for s in sessions}
    if len(emb) > 1:
        raise ColdstartError(f"sessions use different embeddings ({', '.join(sorted(emb))}): compare "
                             "sessions made with the same embedding")
    curves = [s.curve() for s in sessions]
    if with_random:
        longest = max(len(s) for s in sessions)
        curves.append(sessions[0].random_curve(longest))
    summ = pd.DataFrame([s.summary() for s in sessions])
    return pd.concat(curves, ignore_index=True), summ


def pick_orders(session: LabelSession) -> dict[str, "np.ndarray"]:
    """Pick orders to compare a student's labels with, as positions into ``session.pool``:
    the student's labelled images, the session's cold-start suggestions (its selector's order)
    and the random-sampling reference. Each is cut to the number of labels so far."""
    import numpy as np

    pos = {int(r): k for k, r in enumerate(session.pool)}
    n = len(session)

    def positions(rows) -> np.ndarray:
        return np.asarray([pos[int(r)] for r in rows if int(r) in pos][:n], dtype=np.int64)

    return {"your labels": positions(session.labeled_rows()),
            f"{session.config.coldstart} suggestions": positions(session.config.order or []),
            "random picks": positions(session.random_order())}
