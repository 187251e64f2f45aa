"""Session files of the old format (``labels/<session>.json`` + ``<session>.parquet``), imported into the store.

Before the store, a session was a JSON config beside a Parquet table of labels whose AP column was called
``auprc``. The first time such a session is opened or listed, it is copied into the store in one
transaction (config and every label) and the file is recorded as imported; the files stay where they are.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..classroom.store import open_store
from ..data.dataset import MISSING_LABEL
from ..io import read_json
from ..paths import validate_name


def _label_rows(path) -> list[dict]:
    if not path.exists():
        return []
    df = pd.read_parquet(path).rename(columns={"auprc": "ap", "index": "row"})
    out = []
    for r in df.to_dict("records"):
        ap = r.get("ap")
        mask = r.get("mask_ok")
        out.append({"step": int(r["step"]), "row": int(r["row"]), "id": str(r["id"]), "label": int(r["label"]),
                    "label_name": str(r["label_name"]), "source": str(r.get("source", "user")),
                    "ground_truth": int(r.get("ground_truth", MISSING_LABEL)),
                    "mask_ok": None if mask is None or (isinstance(mask, float) and np.isnan(mask)) else int(bool(mask)),
                    "seconds": None if pd.isna(r.get("seconds")) else float(r["seconds"]),
                    "time": str(r.get("time", "")), "n_labels": int(r.get("n_labels", r["step"])),
                    "ap": None if ap is None or not np.isfinite(ap) else float(ap)})
    return out


def import_legacy(dataset, name: str | None = None) -> list[str]:
    """Copy the old-format session files of ``dataset`` (all, or the one called ``name``) into the store.

    Returns the names imported now; files already imported, or whose name the store already holds, are
    left alone. Unreadable files are skipped (they never were a session the page could open).
    """
    folder = dataset.dir / "labels"
    if not folder.is_dir():
        return []
    paths = [folder / f"{validate_name(name, 'session name')}.json"] if name else sorted(folder.glob("*.json"))
    store = open_store(dataset.dir.parent)
    done = []
    for p in paths:
        if not p.exists():
            continue
        key = str(p.resolve())
        if store.query("SELECT 1 FROM imported_files WHERE path=?", (key,)):
            continue
        try:
            cfg = read_json(p)
            labels = _label_rows(p.with_suffix(".parquet"))
        except (OSError, ValueError, KeyError):
            continue
        sname = str(cfg.get("name", p.stem))
        with store.write() as c:
            if c.execute("SELECT 1 FROM sessions WHERE dataset=? AND name=?", (dataset.name, sname)).fetchone():
                c.execute("INSERT OR IGNORE INTO imported_files (path, session_id) VALUES (?, -1)", (key,))
                continue
            cur = c.execute("INSERT INTO sessions (dataset, name, config, classroom_id, created) "
                            "VALUES (?, ?, ?, NULL, ?)", (dataset.name, sname, json.dumps(cfg),
                                                          str(cfg.get("created", ""))))
            store.import_file(key, int(cur.lastrowid), labels, c)
        done.append(sname)
    return done
