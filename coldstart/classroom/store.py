"""The label store: one SQLite file per data root holding label sessions, their labels and classrooms.

Standard-library :mod:`sqlite3` in WAL mode with ``synchronous=FULL``: a label is one transaction, and a
label whose write returned is on disk (a ``kill -9`` of the server a moment later loses nothing). The
schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older file up to
:data:`SCHEMA_VERSION` when it is opened.

Every write that belongs to a classroom student is checked here against the student's secret seat key
(:mod:`coldstart.classroom.secrets`), and every teacher action against a teacher token, so the page
can never grant what the store refuses.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from ..errors import ColdstartError
from ..paths import data_root

FILE_NAME = "coldstart.sqlite"
SCHEMA_VERSION = 1
#: statements that bring a store from version k-1 to version k (k = key)
MIGRATIONS = {
    1: [
        """CREATE TABLE classrooms (
            id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, dataset TEXT NOT NULL,
            embedder TEXT NOT NULL, question TEXT NOT NULL, assignment TEXT NOT NULL,
            methods TEXT NOT NULL, n_coldstart INTEGER NOT NULL, seed INTEGER NOT NULL,
            pw_salt BLOB NOT NULL, pw_hash BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            revealed INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL)""",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY, dataset TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
            classroom_id INTEGER REFERENCES classrooms(id), created TEXT NOT NULL,
            UNIQUE (dataset, name))""",
        """CREATE TABLE students (
            id INTEGER PRIMARY KEY, classroom_id INTEGER NOT NULL REFERENCES classrooms(id),
            display_name TEXT NOT NULL, name_key TEXT NOT NULL, method TEXT NOT NULL,
            session_id INTEGER NOT NULL UNIQUE REFERENCES sessions(id), key_hash TEXT NOT NULL UNIQUE,
            joined TEXT NOT NULL, UNIQUE (classroom_id, name_key))""",
        """CREATE TABLE teacher_tokens (
            token_hash TEXT PRIMARY KEY, classroom_id INTEGER NOT NULL REFERENCES classrooms(id),
            created TEXT NOT NULL)""",
        """CREATE TABLE labels (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            step INTEGER NOT NULL, row INTEGER NOT NULL, id TEXT NOT NULL, label INTEGER NOT NULL,
            label_name TEXT NOT NULL, source TEXT NOT NULL, ground_truth INTEGER NOT NULL,
            mask_ok INTEGER, seconds REAL, time TEXT NOT NULL, n_labels INTEGER NOT NULL, ap REAL,
            PRIMARY KEY (session_id, step), UNIQUE (session_id, row))""",
        "CREATE TABLE imported_files (path TEXT PRIMARY KEY, session_id INTEGER NOT NULL)",
    ],
}
LABEL_FIELDS = ("step", "row", "id", "label", "label_name", "source", "ground_truth", "mask_ok", "seconds",
                "time", "n_labels", "ap")


def store_path(root=None) -> Path:
    """``<data root>/coldstart.sqlite``: the one store of a data root."""
    return data_root(root) / FILE_NAME


class Store:
    """Connections to one store file (one per thread; sqlite3 connections are not shared across threads)."""

    def __init__(self, path):
        self.path = Path(path)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # ---- connections and transactions
    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=30000")
            self._local.conn = c
        return c

    @contextmanager
    def write(self):
        """One write transaction (``BEGIN IMMEDIATE``: writers queue, readers never block)."""
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        return self.conn().execute(sql, args).fetchall()

    def _migrate(self) -> None:
        with self.write() as c:
            have = c.execute("PRAGMA user_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise ColdstartError(f"the label store {self.path} has schema version {have}, newer than this "
                                     f"coldstart's {SCHEMA_VERSION}: upgrade coldstart to open it")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                for stmt in MIGRATIONS[v]:
                    c.execute(stmt)
                c.execute(f"PRAGMA user_version = {v}")

    @property
    def version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    # ---- sessions
    def session_id(self, dataset: str, name: str) -> int | None:
        r = self.query("SELECT id FROM sessions WHERE dataset=? AND name=?", (dataset, name))
        return int(r[0]["id"]) if r else None

    def session(self, session_id: int) -> sqlite3.Row:
        r = self.query("SELECT * FROM sessions WHERE id=?", (int(session_id),))
        if not r:
            raise ColdstartError(f"no labeling session with id {session_id} in {self.path}")
        return r[0]

    def create_session(self, dataset: str, name: str, config: dict, created: str, overwrite: bool = False,
                       classroom_id: int | None = None, conn=None) -> int:
        # ``conn``: inside the caller's open write transaction (a classroom seat is created with its student)
        """A new session row (``overwrite`` replaces a single-user session of that name and its labels)."""
        def _do(c) -> int:
            old = c.execute("SELECT id, classroom_id FROM sessions WHERE dataset=? AND name=?",
                            (dataset, name)).fetchone()
            if old is not None:
                if not overwrite or old["classroom_id"] is not None:
                    raise ColdstartError(f"a labeling session named {name!r} already exists: open it to "
                                         "continue, or choose another name")
                c.execute("DELETE FROM labels WHERE session_id=?", (old["id"],))
                c.execute("UPDATE sessions SET config=?, created=? WHERE id=?",
                          (json.dumps(config), created, old["id"]))
                return int(old["id"])
            cur = c.execute("INSERT INTO sessions (dataset, name, config, classroom_id, created) "
                            "VALUES (?, ?, ?, ?, ?)", (dataset, name, json.dumps(config), classroom_id, created))
            return int(cur.lastrowid)

        if conn is not None:
            return _do(conn)
        with self.write() as c:
            return _do(c)

    def list_sessions(self, dataset: str) -> list[sqlite3.Row]:
        """Single-user sessions of a dataset (classroom seats are never listed), with their label count."""
        return self.query("SELECT s.*, (SELECT COUNT(*) FROM labels l WHERE l.session_id = s.id) AS n "
                          "FROM sessions s WHERE s.dataset=? AND s.classroom_id IS NULL", (dataset,))

    # ---- labels
    def labels(self, session_id: int) -> list[sqlite3.Row]:
        return self.query(f"SELECT {', '.join(LABEL_FIELDS)} FROM labels WHERE session_id=? ORDER BY step",
                          (int(session_id),))

    def label_count(self, session_id: int) -> int:
        return int(self.query("SELECT COUNT(*) FROM labels WHERE session_id=?", (int(session_id),))[0][0])

    def add_label(self, session_id: int, row: dict, key: str | None = None) -> tuple[dict, bool]:
        """Write one label in its own transaction; returns ``(row as stored, written)``.

        A label for an image the session already holds with the same class is the same click twice:
        nothing is written and the stored row comes back with ``written=False``. ``row["step"]`` must be
        the next step (another tab may have labelled meanwhile: then ColdstartError, nothing written).
        A classroom seat's label needs the seat's ``key`` and an open classroom.
        """
        with self.write() as c:
            self._check_seat(c, session_id, key)
            old = c.execute(f"SELECT {', '.join(LABEL_FIELDS)} FROM labels WHERE session_id=? AND row=?",
                            (int(session_id), int(row["row"]))).fetchone()
            if old is not None:
                if int(old["label"]) == int(row["label"]):
                    return dict(old), False
                raise ColdstartError(f"image {old['id']} is already labeled in this session (as "
                                     f"{old['label_name']!r}): undo the label first to change it")
            n = c.execute("SELECT COUNT(*) FROM labels WHERE session_id=?", (int(session_id),)).fetchone()[0]
            if int(row["step"]) != n + 1:
                raise ColdstartError(f"this session now has {n} labels, not {int(row['step']) - 1}: another "
                                     "tab labelled meanwhile; reload the page to see the next image")
            c.execute(f"INSERT INTO labels (session_id, {', '.join(LABEL_FIELDS)}) VALUES "
                      f"(?, {', '.join('?' * len(LABEL_FIELDS))})",
                      (int(session_id), *[row[f] for f in LABEL_FIELDS]))
        return dict(row), True

    def undo(self, session_id: int, key: str | None = None) -> dict | None:
        """Remove the last label of a session; returns it, or None when there is none."""
        with self.write() as c:
            self._check_seat(c, session_id, key)
            last = c.execute(f"SELECT {', '.join(LABEL_FIELDS)} FROM labels WHERE session_id=? "
                             "ORDER BY step DESC LIMIT 1", (int(session_id),)).fetchone()
            if last is None:
                return None
            c.execute("DELETE FROM labels WHERE session_id=? AND step=?", (int(session_id), last["step"]))
        return dict(last)

    def _check_seat(self, c, session_id: int, key: str | None) -> None:
        from .secrets import digest, same

        s = c.execute("SELECT classroom_id FROM sessions WHERE id=?", (int(session_id),)).fetchone()
        if s is None:
            raise ColdstartError(f"no labeling session with id {session_id}: start or join one first")
        if s["classroom_id"] is None:
            return
        seat = c.execute("SELECT st.key_hash, c.status FROM students st JOIN classrooms c "
                         "ON c.id = st.classroom_id WHERE st.session_id=?", (int(session_id),)).fetchone()
        if seat is None or key is None or not same(digest(key), seat["key_hash"]):
            raise ColdstartError("this classroom seat is not yours: join the classroom with its code and your "
                                 "name (or your seat key) to label")
        if seat["status"] != "open":
            raise ColdstartError("the teacher has closed this classroom: no more labels can be added")

    def import_file(self, path: str, session_id: int, labels: list[dict], conn) -> None:
        """Record that a session file of the old format was copied into the store (with its labels)."""
        conn.execute("INSERT INTO imported_files (path, session_id) VALUES (?, ?)", (path, session_id))
        for r in labels:
            conn.execute(f"INSERT INTO labels (session_id, {', '.join(LABEL_FIELDS)}) VALUES "
                         f"(?, {', '.join('?' * len(LABEL_FIELDS))})", (session_id, *[r[f] for f in LABEL_FIELDS]))


_STORES: dict[Path, Store] = {}
_LOCK = threading.Lock()


def open_store(root=None) -> Store:
    """The store of a data root (one :class:`Store` object per file and process)."""
    p = store_path(root) if root is None or Path(root).suffix != ".sqlite" else Path(root)
    with _LOCK:
        if p not in _STORES or not p.exists():
            _STORES[p] = Store(p)
        return _STORES[p]
