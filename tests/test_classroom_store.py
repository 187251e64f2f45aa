"""The SQLite label store: schema versions, old session files, many writers at once, kill -9 of a writer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldstart.classroom.store import SCHEMA_VERSION, Store, open_store, store_path
from coldstart.errors import ColdstartError

REPO = Path(__file__).resolve().parents[1]


def _row(step: int, row: int, label: int = 0) -> dict:
    return {"step": step, "row": row, "id": f"img{row}", "label": label, "label_name": str(label), "source": "user",
            "ground_truth": label, "mask_ok": None, "seconds": 1.0, "time": "t", "n_labels": step, "ap": 0.5}


def test_new_store_is_wal_and_versioned(tmp_path):
    s = Store(tmp_path / "a.sqlite")
    assert s.version == SCHEMA_VERSION
    assert s.query("PRAGMA journal_mode")[0][0] == "wal"
    tables = {r[0] for r in s.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"classrooms", "sessions", "students", "labels", "teacher_tokens"} <= tables


def test_an_empty_version_0_file_is_migrated_and_a_newer_one_refused(tmp_path):
    p = tmp_path / "old.sqlite"
    sqlite3.connect(p).close()  # version 0: no tables yet
    assert Store(p).version == SCHEMA_VERSION
    q = tmp_path / "future.sqlite"
    with sqlite3.connect(q) as c:
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ColdstartError, match="newer than this coldstart"):
        Store(q)


def test_old_session_files_are_imported_on_first_read(blob_dataset):
    """A session saved in the old format (JSON config + Parquet labels with an ``auprc`` column) opens, lists
    and continues from the store; the import happens once."""
    from coldstart.label import LabelSession, list_sessions

    feats = blob_dataset.load_images(None, 8).reshape(len(blob_dataset), -1)
    folder = blob_dataset.subdir("labels")
    pool = np.flatnonzero(blob_dataset.splits == "train")
    cfg = {"dataset": blob_dataset.name, "name": "olga", "embedder": "pixels", "coldstart": "random",
           "n_coldstart": 3, "strategy": "least-confidence", "seed": 0, "student": "Olga",
           "created": "2026-01-01T00:00:00+00:00", "order": [int(i) for i in pool]}
    (folder / "olga.json").write_text(json.dumps(cfg))
    rows = [int(pool[0]), int(pool[1])]
    pd.DataFrame({"step": [1, 2], "index": rows, "id": [blob_dataset.ids[i] for i in rows], "label": [0, 1],
                  "label_name": ["a", "b"], "source": ["coldstart"] * 2, "ground_truth": [0, 1],
                  "mask_ok": pd.Series([None, True], dtype=object), "seconds": [2.0, 3.5],
                  "time": ["t1", "t2"], "n_labels": [1, 2], "auprc": [np.nan, 0.75]}).to_parquet(folder / "olga.parquet")
    lst = list_sessions(blob_dataset)
    assert lst.set_index("name").loc["olga", "labels"] == 2
    s = LabelSession.open(blob_dataset, "olga", feats)
    assert s.labels["index"].tolist() == rows and s.labels["mask_ok"].tolist() == [None, True]
    assert np.isnan(s.curve()["ap"].iat[0]) and s.curve()["ap"].iat[1] == 0.75
    assert s.next_item()["index"] == int(pool[2])
    s.add_label(int(pool[2]), 0)
    again = LabelSession.open(blob_dataset, "olga", feats)  # not imported a second time
    assert len(again) == 3
    with pytest.raises(ColdstartError, match="already exists"):
        LabelSession.create(blob_dataset, "olga", feats)


def test_threads_writing_at_once_lose_nothing(tmp_path):
    s = Store(tmp_path / "t.sqlite")
    ids = [s.create_session("ds", f"s{k}", {}, "now") for k in range(6)]
    errors = []

    def writer(sid):
        try:
            for step in range(1, 31):
                s.add_label(sid, _row(step, step))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(sid,)) for sid in ids for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # two threads per session race for every step: the loser's insert is refused or is a double click
    assert all(isinstance(e, ColdstartError) for e in errors)
    counts = [len(s.labels(sid)) for sid in ids]
    for sid in ids:
        steps = [r["step"] for r in s.labels(sid)]
        assert steps == list(range(1, len(steps) + 1))  # never a gap or a duplicate step
    assert sum(counts) >= 6 * 30 - len(errors) * 30


_WRITER = """
import sys
from coldstart.classroom.store import Store
s = Store(sys.argv[1])
sid = int(sys.argv[2])
for step in range(1, 100000):
    s.add_label(sid, {"step": step, "row": step, "id": "i", "label": 0, "label_name": "0", "source": "user",
                      "ground_truth": 0, "mask_ok": None, "seconds": 1.0, "time": "t", "n_labels": step, "ap": 0.5})
    print(step, flush=True)   # acknowledged: the transaction has committed
"""


def _spawn_writer(path, sid):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(sid)], stdout=subprocess.PIPE,
                            text=True, env=env)


def test_processes_writing_at_once_and_kill_9_loses_no_acknowledged_label(tmp_path):
    path = tmp_path / "k.sqlite"
    s = Store(path)
    sids = [s.create_session("ds", f"p{k}", {}, "now") for k in range(3)]
    procs = [_spawn_writer(path, sid) for sid in sids]
    acked = {sid: 0 for sid in sids}
    deadline = time.time() + 60
    while min(acked.values()) < 40 and time.time() < deadline:
        for p, sid in zip(procs, sids):
            line = p.stdout.readline()
            if line.strip():
                acked[sid] = int(line)
    for p in procs:
        p.send_signal(signal.SIGKILL)
    for p, sid in zip(procs, sids):
        rest = p.stdout.read()  # lines already written before the kill are acknowledged too
        nums = [int(v) for v in rest.split()]
        acked[sid] = max([acked[sid]] + nums)
        p.wait()
    assert min(acked.values()) >= 40, acked
    fresh = Store(path)
    for sid in sids:
        steps = [r["step"] for r in fresh.labels(sid)]
        assert len(steps) >= acked[sid] and steps == list(range(1, len(steps) + 1))
    assert fresh.query("PRAGMA integrity_check")[0][0] == "ok"


def test_open_store_is_one_file_per_data_root(tmp_path):
    a = open_store(tmp_path / "root1")
    assert a is open_store(tmp_path / "root1") and a.path == store_path(tmp_path / "root1")
    assert open_store(tmp_path / "root2").path != a.path
