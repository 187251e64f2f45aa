"""What a classroom's teacher sees: each student's progress, the class's curves per method group (mean and
SE across students), the strata each group covered, label agreement with the ground truth, and the whole
class as one table for export. Every entry point checks the teacher token (or, for the class view a
student may see once the teacher revealed it, the student's seat key).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from ..data.dataset import is_labeled
from . import secrets as sec
from .room import check_teacher, find_classroom
from .store import open_store

CLASS_COLUMNS = ["student", "method", "step", "row", "id", "label", "label_name", "ground_truth", "agrees",
                 "ap", "seconds", "time", "source"]


#: the class table of each classroom last read by this process: (store file, classroom id) -> (stamp, tables)
_TABLES: dict = {}


def _class_table(dataset, room) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every label of every student (one query for all seats) and the students; the tables built from the
    rows are reused while the rows are unchanged (the teacher's view refreshes every few seconds)."""
    store = open_store(dataset.dir.parent)
    rows = store.query("SELECT st.id AS student_id, st.display_name AS student, st.method, st.joined, "
                       "st.session_id AS seat_session, l.* FROM students st LEFT JOIN labels l "
                       "ON l.session_id = st.session_id WHERE st.classroom_id=? ORDER BY st.id, l.step", (room.id,))
    raw = [tuple(r) for r in rows]
    stamp = hash(tuple(raw))
    hit = _TABLES.get((store.path, room.id))
    if hit is not None and hit[0] == stamp:
        return hit[1][0].copy(), hit[1][1].copy()
    names = rows[0].keys() if rows else []
    every = pd.DataFrame(raw, columns=list(names))
    students = (every[["student_id", "student", "method", "joined", "seat_session"]].drop_duplicates("student_id")
                .rename(columns={"seat_session": "session_id"}).reset_index(drop=True)
                if len(every) else pd.DataFrame(columns=["student_id", "student", "method", "joined", "session_id"]))
    df = every[every["step"].notna()].copy() if len(every) else every
    if df.empty:
        labels = pd.DataFrame({c: pd.Series(dtype=object) for c in CLASS_COLUMNS})
    else:
        for c in ("step", "row", "label", "ground_truth"):
            df[c] = df[c].astype(int)
        gt, lab = df["ground_truth"].to_numpy(int), df["label"].to_numpy(int)
        df["agrees"] = pd.array(np.where(is_labeled(gt), lab == gt, False), dtype="boolean")
        df.loc[~is_labeled(gt), "agrees"] = pd.NA
        df["ap"] = df["ap"].astype(float)
        labels = df[CLASS_COLUMNS].reset_index(drop=True)
    if len(_TABLES) > 64:
        _TABLES.clear()
    _TABLES[(store.path, room.id)] = (stamp, (labels, students))
    return labels.copy(), students.copy()


def class_labels(dataset, code, token) -> pd.DataFrame:
    """Every label of every student of the classroom, in joining then labelling order (teacher only)."""
    return _class_table(dataset, check_teacher(dataset, code, token))[0]


def progress(dataset, code, token, labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per student: method, labels given, current test AP, agreement with the ground truth, the
    time of their last label (teacher only; students with no label yet are listed too). ``labels``: the
    class table already read by :func:`class_labels` (else read again)."""
    table, students = _class_table(dataset, check_teacher(dataset, code, token))
    labels = table if labels is None else labels
    g = labels.groupby("student", sort=False)
    ap = labels.dropna(subset=["ap"]).groupby("student", sort=False)["ap"].last()
    known = labels.dropna(subset=["agrees"])
    agree = known["agrees"].astype(float).groupby(known["student"], sort=False).mean()
    out = pd.DataFrame({"student": students["student"], "method": students["method"]})
    out["labels"] = out["student"].map(g.size()).fillna(0).astype(int)
    out["ap_now"] = out["student"].map(ap).astype(float)
    out["agreement"] = out["student"].map(agree).astype(float)
    out["last_label"] = out["student"].map(g["time"].last()).fillna("").astype(str)
    return out[["student", "method", "labels", "ap_now", "agreement", "last_label"]]


def group_curves(labels: pd.DataFrame) -> pd.DataFrame:
    """Per method group and number of labels: mean test AP across the group's students, its standard error
    (``se``, 0 with one student) and how many students reached that many labels with a score."""
    if labels.empty:
        return pd.DataFrame(columns=["method", "n_labels", "mean", "se", "students"])
    d = labels.dropna(subset=["ap"]).groupby(["method", "step"])["ap"].agg(["mean", "std", "count"]).reset_index()
    d["se"] = (d["std"] / np.sqrt(d["count"])).fillna(0.0)
    return d.rename(columns={"step": "n_labels", "count": "students"})[["method", "n_labels", "mean", "se",
                                                                        "students"]]


def group_strata(dataset, labels: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per method group and stratum of ``column``: the group's labels there, their share, the pool's share,
    and how many of the group's students labelled at least one image of it."""
    from ..select.strata import stratum_values

    values = np.asarray(stratum_values(dataset.manifest, column)).astype(str)
    pool = values[dataset.splits == "train"] if (dataset.splits == "train").any() else values
    pool_share = pd.Series(pool).value_counts(normalize=True)
    rows = []
    for method, g in labels.groupby("method"):
        v = pd.Series(values[g["row"].to_numpy(int)])
        counts = v.value_counts()
        for stratum, share in pool_share.items():
            hit = g[values[g["row"].to_numpy(int)] == stratum]["student"].nunique()
            rows.append({"method": method, "stratum": stratum, "labels": int(counts.get(stratum, 0)),
                         "share": float(counts.get(stratum, 0) / max(len(v), 1)), "pool_share": float(share),
                         "students_hit": int(hit), "students": int(g["student"].nunique())})
    return pd.DataFrame(rows, columns=["method", "stratum", "labels", "share", "pool_share", "students_hit",
                                       "students"])


def majority_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled image: the class most students gave (ties: the lower class), how many students
    labelled it and the share that agreed with that majority (what a whole-class Label Studio export holds)."""
    if labels.empty:
        return pd.DataFrame(columns=["row", "label", "votes", "consensus", "students"])
    counts = pd.crosstab(labels["row"], labels["label"].astype(int))  # classes ascending: idxmax takes the lower
    order = pd.unique(labels["row"])
    counts = counts.loc[order]
    votes = counts.sum(axis=1)
    who = labels.groupby("row", sort=False)["student"].agg(lambda v: ", ".join(v.astype(str)))
    return pd.DataFrame({"row": order.astype(int), "label": counts.idxmax(axis=1).to_numpy(int),
                         "votes": votes.to_numpy(int), "consensus": (counts.max(axis=1) / votes).to_numpy(float),
                         "students": who.loc[order].to_numpy()})


def class_view_for_student(dataset, code, key) -> pd.DataFrame:
    """The class's curves per method group (no names), for a student once the teacher revealed them."""
    room = find_classroom(dataset, code)
    k = sec.normalise_code(key)
    if not k or not open_store(dataset.dir.parent).query(
            "SELECT 1 FROM students WHERE key_hash=? AND classroom_id=?", (sec.digest(k), room.id)):
        raise ColdstartError(f"this class view is for students of classroom {room.code}: join it first")
    if not room.revealed:
        raise ColdstartError("the teacher has not revealed the class view yet: keep labelling")
    return group_curves(_class_table(dataset, room)[0])
