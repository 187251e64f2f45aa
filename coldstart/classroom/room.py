"""Classrooms: a teacher creates one, students join with its code and a display name and label in their own
seat (a :class:`coldstart.label.LabelSession` kept in the store).

Authority lives in the store, never in the page: a student's writes need the seat key given at join time,
a teacher's actions need a token issued after the password was checked (:func:`teacher_login`).

Examples
--------
>>> room = create_classroom(ds, "Monday", "s3cret-pw", embedder="gist")        # doctest: +SKIP
>>> seat = join(ds, room.code, "Alice", features)                             # doctest: +SKIP
>>> seat.session.add_label(seat.session.next_item()["index"], 1)              # doctest: +SKIP
>>> token = teacher_login(ds, room.code, "s3cret-pw")                         # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets as _secrets
import unicodedata
from dataclasses import asdict, dataclass

from ..errors import ColdstartError
from . import secrets as sec
from .store import open_store

ASSIGNMENTS = {"same": "every student gets the first method",
               "round-robin": "students are assigned to the methods in turn (an in-class experiment)"}
DEFAULT_METHODS = ("random", "kmeans-paper", "typiclust")
MAX_NAME = 40
#: points of a new seat's random-sampling reference computed when the student joins (beyond the method's picks)
RANDOM_AHEAD = 20
DEFAULT_QUESTION = "Does this image show the finding?"


@dataclass(frozen=True)
class Classroom:
    """One classroom as stored (never holds the password or any key)."""

    id: int
    code: str
    name: str
    dataset: str
    embedder: str
    question: str
    assignment: str
    methods: tuple
    n_coldstart: int
    seed: int
    status: str
    revealed: bool
    created: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def _from_row(cls, r) -> "Classroom":
        return cls(id=int(r["id"]), code=r["code"], name=r["name"], dataset=r["dataset"], embedder=r["embedder"],
                   question=r["question"], assignment=r["assignment"], methods=tuple(json.loads(r["methods"])),
                   n_coldstart=int(r["n_coldstart"]), seed=int(r["seed"]), status=r["status"],
                   revealed=bool(r["revealed"]), created=r["created"])


@dataclass
class Seat:
    """A student in a classroom: their display name, method, seat key and labeling session."""

    classroom: Classroom
    student_id: int
    display_name: str
    method: str
    key: str
    session: object  # LabelSession


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _store(dataset):
    return open_store(dataset.dir.parent)


def clean_display_name(name) -> str:
    """A student's display name, trimmed and with runs of spaces collapsed; ColdstartError when empty,
    longer than :data:`MAX_NAME` characters or holding control characters."""
    text = " ".join(unicodedata.normalize("NFKC", str(name or "")).split())
    if not text:
        raise ColdstartError("display name is empty: type the name your teacher will see (e.g. 'Alice')")
    if len(text) > MAX_NAME:
        raise ColdstartError(f"display name of {len(text)} characters is too long: use at most {MAX_NAME}")
    odd = [c for c in text if unicodedata.category(c)[0] == "C"]
    if odd:
        raise ColdstartError(f"display name {text!r} holds invisible or control characters ({odd[0]!r}): use "
                             "letters, digits, spaces and punctuation")
    return text


def create_classroom(dataset, name: str, password: str, *, embedder: str, question: str = DEFAULT_QUESTION,
                     assignment: str = "round-robin", methods=DEFAULT_METHODS, n_coldstart: int = 10,
                     seed: int = 0) -> Classroom:
    """A new open classroom on ``dataset`` with a fresh join code (the password is stored as a salted hash).

    Parameters
    ----------
    name : str
        What the teacher calls it (shown to students).
    password : str
        The teacher password (at least :data:`coldstart.classroom.secrets.MIN_PASSWORD` characters).
    embedder : str
        The embedding every student's selector and probe use.
    question : str
        The label question shown above the buttons.
    assignment : str
        ``same`` (everyone gets ``methods[0]``) or ``round-robin`` (students take the methods in turn).
    methods : sequence of str
        Cold-start selectors (``random``, ``kmeans-paper``, ``typiclust``, ...).
    """
    from ..select import list_selectors

    known = list_selectors()
    title = " ".join(str(name or "").split())
    if not title or len(title) > 80:
        raise ColdstartError(f"classroom name {title!r} must have 1-80 characters (e.g. 'Monday radiology')")
    if assignment not in ASSIGNMENTS:
        raise ColdstartError(f"assignment={assignment!r} is not known: choose one of {', '.join(ASSIGNMENTS)}")
    methods = tuple(dict.fromkeys(str(m) for m in methods))
    unknown = [m for m in methods if m not in known]
    if not methods or unknown:
        raise ColdstartError(f"methods={list(methods)} must be registered selectors (unknown: {unknown}): choose "
                             f"from {', '.join(sorted(known))}")
    if int(n_coldstart) < 1:
        raise ColdstartError(f"n_coldstart={n_coldstart} must be >= 1: the first labels come from the method")
    salt, pw_hash = sec.hash_password(password)
    q = " ".join(str(question or "").split()) or DEFAULT_QUESTION
    with _store(dataset).write() as c:
        code = sec.new_code()
        while c.execute("SELECT 1 FROM classrooms WHERE code=?", (code,)).fetchone():
            code = sec.new_code()
        c.execute("INSERT INTO classrooms (code, name, dataset, embedder, question, assignment, methods, "
                  "n_coldstart, seed, pw_salt, pw_hash, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                  (code, title, dataset.name, embedder, q[:300], assignment, json.dumps(list(methods)),
                   int(n_coldstart), int(seed), salt, pw_hash, _now()))
    return find_classroom(dataset, code)


def lookup(code, root=None) -> Classroom:
    """The classroom with join code ``code`` in the store of a data root (case and spaces ignored)."""
    c = sec.normalise_code(code)
    rows = open_store(root).query("SELECT * FROM classrooms WHERE code=?", (c,)) if c else []
    if not rows:
        raise ColdstartError(f"join code {str(code or '').strip()!r} is not a classroom on this server: check "
                             f"the {sec.CODE_LENGTH}-character code your teacher shows")
    return Classroom._from_row(rows[0])


def find_classroom(dataset, code) -> Classroom:
    """The classroom with join code ``code`` on this dataset (case and spaces ignored)."""
    room = lookup(code, dataset.dir.parent)
    if room.dataset != dataset.name:
        raise ColdstartError(f"classroom {room.code} labels dataset {room.dataset!r}, not {dataset.name!r}: "
                             f"choose {room.dataset!r} in the sidebar")
    return room


def list_classrooms(dataset) -> list[Classroom]:
    rows = _store(dataset).query("SELECT * FROM classrooms WHERE dataset=? ORDER BY id DESC", (dataset.name,))
    return [Classroom._from_row(r) for r in rows]


def join(dataset, code, display_name, features, embedding_key: str | None = None) -> Seat:
    """Join an open classroom as a new student; the returned seat's ``key`` is the student's secret.

    The student's method follows the classroom's assignment; their seed is the classroom's plus their
    place in the class, so students of one method group get different (but reproducible) picks.
    """
    from ..label import LabelSession

    room = find_classroom(dataset, code)
    if not room.is_open:
        raise ColdstartError(f"classroom {room.code} ({room.name}) is closed: ask your teacher for an open one")
    name = clean_display_name(display_name)
    name_key = name.casefold()
    store = _store(dataset)
    taken_msg = (f"the name {name!r} is already taken in classroom {room.code}: pick another name, or if it is "
                 "you, rejoin with the seat key shown when you joined")
    if store.query("SELECT 1 FROM students WHERE classroom_id=? AND name_key=?", (room.id, name_key)):
        raise ColdstartError(taken_msg)
    place = store.query("SELECT COUNT(*) FROM students WHERE classroom_id=?", (room.id,))[0][0]
    method = room.methods[0] if room.assignment == "same" else room.methods[place % len(room.methods)]
    cfg = LabelSession.plan(dataset, f"class-{room.code}-{_secrets.token_hex(4)}", features,
                            embedder=room.embedder, coldstart=method, n_coldstart=room.n_coldstart,
                            seed=room.seed + int(place), student=name, embedding_key=embedding_key)
    key = sec.new_seat_key()
    with store.write() as c:  # the name check again, inside the transaction that takes the seat
        if c.execute("SELECT 1 FROM students WHERE classroom_id=? AND name_key=?", (room.id, name_key)).fetchone():
            raise ColdstartError(taken_msg)
        if c.execute("SELECT status FROM classrooms WHERE id=?", (room.id,)).fetchone()[0] != "open":
            raise ColdstartError(f"classroom {room.code} was closed a moment ago: ask your teacher")
        sid = store.create_session(dataset.name, cfg.name, asdict(cfg), cfg.created, classroom_id=room.id, conn=c)
        cur = c.execute("INSERT INTO students (classroom_id, display_name, name_key, method, session_id, "
                        "key_hash, joined) VALUES (?,?,?,?,?,?,?)",
                        (room.id, name, name_key, method, sid, sec.digest(key), _now()))
    session = LabelSession.from_store(dataset, sid, features, key=key)
    session.random_curve(room.n_coldstart + RANDOM_AHEAD)  # once, now: no label of this seat waits for it
    return Seat(room, int(cur.lastrowid), name, method, key, session)


def rejoin(dataset, code, key, features) -> Seat:
    """The seat whose secret ``key`` this is, in classroom ``code`` (after a restart, in another tab)."""
    from ..label import LabelSession

    room = find_classroom(dataset, code)
    k = sec.normalise_code(key)
    rows = _store(dataset).query("SELECT * FROM students WHERE key_hash=? AND classroom_id=?",
                                 (sec.digest(k), room.id)) if k else []
    if not rows:
        raise ColdstartError(f"seat key {str(key or '').strip()!r} is not a seat of classroom {room.code}: type the "
                             f"{sec.SEAT_KEY_LENGTH}-character key shown when you joined (your page's link holds it)")
    r = rows[0]
    return Seat(room, int(r["id"]), r["display_name"], r["method"], k,
                LabelSession.from_store(dataset, int(r["session_id"]), features, key=k))


# ---- the teacher -----------------------------------------------------------------
def teacher_login(dataset, code, password) -> str:
    """A teacher token for classroom ``code`` when ``password`` is right (store only its digest)."""
    room = find_classroom(dataset, code)
    store = _store(dataset)
    r = store.query("SELECT pw_salt, pw_hash FROM classrooms WHERE id=?", (room.id,))[0]
    if not sec.check_password(password, r["pw_salt"], r["pw_hash"]):
        raise ColdstartError(f"the teacher password for classroom {room.code} is wrong: type it again "
                             "(it was set when the classroom was created)")
    token = sec.new_token()
    with store.write() as c:
        c.execute("INSERT INTO teacher_tokens (token_hash, classroom_id, created) VALUES (?,?,?)",
                  (sec.digest(token), room.id, _now()))
    return token


def check_teacher(dataset, code, token) -> Classroom:
    """The classroom when ``token`` is one of its teacher tokens; ColdstartError otherwise."""
    room = find_classroom(dataset, code)
    ok = bool(token) and _store(dataset).query(
        "SELECT 1 FROM teacher_tokens WHERE token_hash=? AND classroom_id=?", (sec.digest(str(token)), room.id))
    if not ok:
        raise ColdstartError(f"this is the teacher's view of classroom {room.code}: log in with the teacher "
                             "password first")
    return room


def set_state(dataset, code, token, *, revealed: bool | None = None, open_: bool | None = None) -> Classroom:
    """Reveal (or hide) the ground truth and class view to students; close (or reopen) the classroom."""
    room = check_teacher(dataset, code, token)
    with _store(dataset).write() as c:
        if revealed is not None:
            c.execute("UPDATE classrooms SET revealed=? WHERE id=?", (int(bool(revealed)), room.id))
        if open_ is not None:
            c.execute("UPDATE classrooms SET status=? WHERE id=?", ("open" if open_ else "closed", room.id))
    return find_classroom(dataset, code)
