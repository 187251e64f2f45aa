"""What a classroom's teacher sees: each student's progress, the class's curves per method group (mean and
SE across students), the strata each group covered, label agreement with the ground truth, and the whole
class as one table for export. Every entry point checks the teacher token (or, for the class view a
student may see once the teacher revealed it, the student's seat key).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from . import secrets as sec
from .room import check_teacher, find_classroom
from .store import open_store

CLASS_COLUMNS = ["student", "method", "step", "row", "id", "label", "label_name", "ground_truth", "agrees",
                 "ap", "seconds", "time", "source"]


def _class_table(dataset, room) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = open_store(dataset.dir.parent)
    students = pd.DataFrame([dict(r) for r in store.query(
        "SELECT id AS student_id, display_name AS student, method, joined, session_id FROM students "
        "WHERE classroom_id=? ORDER BY id", (room.id,))],
        columns=["student_id", "student", "method", "joined", "session_id"])
    rows = store.query("SELECT st.display_name AS student, st.method, l.* FROM labels l JOIN students st "
                       "ON st.session_id = l.session_id WHERE st.classroom_id=? ORDER BY st.id, l.step", (room.id,))
    df = pd.DataFrame([dict(r) for r in rows])
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CLASS_COLUMNS}), students
    gt = df["ground_truth"].to_numpy(int)
    df["agrees"] = pd.array([bool(a == b) if b >= 0 else pd.NA for a, b in zip(df["label"], gt)], dtype="boolean")
    df["ap"] = df["ap"].astype(float)
    return df[CLASS_COLUMNS], students


def class_labels(dataset, code, token) -> pd.DataFrame:
    """Every label of every student of the classroom, in joining then labelling order (teacher only)."""
    return _class_table(dataset, check_teacher(dataset, code, token))[0]


def progress(dataset, code, token) -> pd.DataFrame:
    """One row per student: method, labels given, current test AP, agreement with the ground truth, the
    time of their last label (teacher only; students with no label yet are listed too)."""
    labels, students = _class_table(dataset, check_teacher(dataset, code, token))
    out = []
    for _, s in students.iterrows():
        mine = labels[labels["student"] == s["student"]]
        ap = mine["ap"].to_numpy(float)
        finite = ap[np.isfinite(ap)]
        known = mine["agrees"].dropna()
        out.append({"student": s["student"], "method": s["method"], "labels": len(mine),
                    "ap_now": float(finite[-1]) if len(finite) else float("nan"),
                    "agreement": float(known.mean()) if len(known) else float("nan"),
                    "last_label": str(mine["time"].iat[-1]) if len(mine) else ""})
    return pd.DataFrame(out, columns=["student", "method", "labels", "ap_now", "agreement", "last_label"])


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
    out = []
    for row, g in labels.groupby("row", sort=False):
        counts = g["label"].astype(int).value_counts().sort_index()
        top = int(counts.idxmax())
        out.append({"row": int(row), "label": top, "votes": int(len(g)), "consensus": float(counts.max() / len(g)),
                    "students": ", ".join(g["student"].astype(str))})
    return pd.DataFrame(out)


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
