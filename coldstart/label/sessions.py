"""Many labeling sessions of a dataset: list them, compare their curves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..classroom.store import open_store
from ..errors import ColdstartError
from .legacy import import_legacy
from .session import LabelSession


def list_sessions(dataset) -> pd.DataFrame:
    """Saved single-user sessions of a dataset: name, student, labels, created, coldstart, embedder, strategy
    (newest first). Classroom seats are not listed: they open only through their classroom."""
    import_legacy(dataset)
    rows = []
    for r in open_store(dataset.dir.parent).list_sessions(dataset.name):
        cfg = json.loads(r["config"])
        rows.append({"name": r["name"], "student": cfg.get("student", ""), "labels": int(r["n"]),
                     "created": cfg.get("created", r["created"]), "coldstart": cfg.get("coldstart", ""),
                     "embedder": cfg.get("embedder", ""), "strategy": cfg.get("strategy", "")})
    df = pd.DataFrame(rows, columns=["name", "student", "labels", "created", "coldstart", "embedder", "strategy"])
    return df.sort_values("created", ascending=False, kind="stable").reset_index(drop=True)


def compare_sessions(dataset, names, features: np.ndarray, with_random: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves (long: ``session, n_labels, ap``) and a summary row per session.

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
