"""Classroom mode: joining, the teacher's authority, isolation between students and classrooms, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart import classroom as cr
from coldstart.classroom import report
from coldstart.errors import ColdstartError

PW = "teach-me-42"


@pytest.fixture
def feats(blob_dataset):
    return blob_dataset.load_images(None, 8).reshape(len(blob_dataset), -1)


@pytest.fixture
def room(blob_dataset):
    return cr.create_classroom(blob_dataset, "Monday", PW, embedder="pixels", methods=("random", "kmeans"),
                               n_coldstart=3)


def label_truth(seat, n):
    s = seat.session
    for _ in range(n):
        nxt = s.next_item()
        s.add_label(nxt["index"], int(s.dataset.labels[nxt["index"]]))


def test_join_round_robin_label_and_teacher_view(blob_dataset, feats, room):
    assert len(room.code) == 6 and room.is_open
    a = cr.join(blob_dataset, room.code.lower(), "  Alice   Smith ", feats)  # code case and spaces ignored
    b = cr.join(blob_dataset, room.code, "Bob", feats)
    c = cr.join(blob_dataset, room.code, "Chloé", feats)
    assert [a.method, b.method, c.method] == ["random", "kmeans", "random"]
    assert a.display_name == "Alice Smith" and a.session.config.seed != c.session.config.seed
    label_truth(a, 5)
    label_truth(b, 4)
    label_truth(c, 6)
    token = cr.teacher_login(blob_dataset, room.code, PW)
    prog = report.progress(blob_dataset, room.code, token).set_index("student")
    assert prog["labels"].to_dict() == {"Alice Smith": 5, "Bob": 4, "Chloé": 6}
    assert (prog["agreement"] == 1.0).all()
    curves = report.group_curves(report.class_labels(blob_dataset, room.code, token))
    rnd = curves[curves["method"] == "random"].set_index("n_labels")
    # two random students up to 5 labels, one beyond; the SE is the spread of the two students' AP
    labels = report.class_labels(blob_dataset, room.code, token)
    two = labels[(labels["method"] == "random") & (labels["step"] == 5)]["ap"].to_numpy(float)
    if np.isfinite(two).all():
        assert rnd.loc[5, "students"] == 2
        assert rnd.loc[5, "mean"] == pytest.approx(two.mean())
        assert rnd.loc[5, "se"] == pytest.approx(two.std(ddof=1) / np.sqrt(2))
    assert rnd.loc[6, "students"] == 1 and rnd.loc[6, "se"] == 0
    strata = report.group_strata(blob_dataset, labels, "label")
    assert strata.groupby("method")["labels"].sum().to_dict() == {"kmeans": 4, "random": 11}
    maj = report.majority_labels(labels)
    assert maj["votes"].sum() == 15 and (maj["consensus"] == 1.0).all()


def test_rejoin_with_the_seat_key_continues_where_the_student_was(blob_dataset, feats, room):
    a = cr.join(blob_dataset, room.code, "Alice", feats)
    label_truth(a, 3)
    again = cr.rejoin(blob_dataset, room.code, a.key.lower(), feats)
    assert len(again.session) == 3 and again.session.next_item()["index"] == a.session.next_item()["index"]
    with pytest.raises(ColdstartError, match="already taken"):
        cr.join(blob_dataset, room.code, "ALICE", feats)  # names are compared without case
    with pytest.raises(ColdstartError, match="not a seat"):
        cr.rejoin(blob_dataset, room.code, "WRONGKEY22", feats)


def test_a_student_cannot_write_into_another_seat_or_classroom(blob_dataset, feats, room):
    other = cr.create_classroom(blob_dataset, "Tuesday", PW, embedder="pixels", methods=("random",))
    a = cr.join(blob_dataset, room.code, "Alice", feats)
    b = cr.join(blob_dataset, room.code, "Bob", feats)
    z = cr.join(blob_dataset, other.code, "Zoe", feats)
    store = cr.open_store(blob_dataset.dir.parent)
    nxt = b.session.next_item()
    row = {"step": 1, "row": nxt["index"], "id": "x", "label": 0, "label_name": "x", "source": "user",
           "ground_truth": 0, "mask_ok": None, "seconds": 1.0, "time": "t", "n_labels": 1, "ap": None}
    for key in (a.key, z.key, None, ""):  # Alice's key, another classroom's key, none: all refused
        with pytest.raises(ColdstartError, match="not yours"):
            store.add_label(b.session.session_id, row, key=key)
    # the seat key does not open another classroom either
    with pytest.raises(ColdstartError, match="not a seat"):
        cr.rejoin(blob_dataset, other.code, a.key, feats)
    # a seat's session opened without its key (e.g. from the Label page) cannot write
    from coldstart.label import LabelSession
    with pytest.raises(ColdstartError, match="no labeling session"):
        LabelSession.open(blob_dataset, b.session.name, feats)
    stolen = LabelSession.from_store(blob_dataset, b.session.session_id, feats)
    with pytest.raises(ColdstartError, match="not yours"):
        stolen.add_label(nxt["index"], 0)
    assert len(store.labels(b.session.session_id)) == 0
    # classroom seats are never listed among the Label page's sessions
    from coldstart.label import list_sessions
    assert list_sessions(blob_dataset).empty


def test_only_the_image_shown_is_accepted_and_double_clicks_count_once(blob_dataset, feats, room):
    a = cr.join(blob_dataset, room.code, "Alice", feats)
    s = a.session
    shown = s.next_item()["index"]
    other = next(int(i) for i in s.pool if int(i) != shown)
    with pytest.raises(ColdstartError, match="not the image shown"):
        s.add_label(other, 0)
    first = s.add_label(shown, 1)
    again = s.add_label(shown, 1)  # double click
    assert again["step"] == first["step"] == 1 and len(s) == 1
    # a second tab of the same student sees the same seat and the same next image
    tab2 = cr.rejoin(blob_dataset, room.code, a.key, feats).session
    assert tab2.next_item()["index"] == s.next_item()["index"]
    nxt = tab2.next_item()["index"]
    tab2.add_label(nxt, 0)
    with pytest.raises(ColdstartError, match="not the image shown"):  # the stale tab clicks a new image
        s.add_label(int(s.pool[0]) if int(s.pool[0]) not in (shown, nxt) else int(s.pool[1]), 0)
    assert s.add_label(nxt, 0)["step"] == 2  # the stale tab clicks the same image: acknowledged, once
    assert len(s.refresh()) == 2


def test_teacher_password_and_token(blob_dataset, feats, room):
    with pytest.raises(ColdstartError, match="password .* is wrong"):
        cr.teacher_login(blob_dataset, room.code, "guess")
    for token in (None, "", "forged-token"):
        with pytest.raises(ColdstartError, match="log in with the teacher password"):
            report.progress(blob_dataset, room.code, token)
    other = cr.create_classroom(blob_dataset, "Tuesday", "other-pw", embedder="pixels", methods=("random",))
    t_other = cr.teacher_login(blob_dataset, other.code, "other-pw")
    with pytest.raises(ColdstartError, match="log in"):
        cr.set_state(blob_dataset, room.code, t_other, open_=False)  # a token of another classroom
    raw = cr.store_path(blob_dataset.dir.parent).read_bytes()
    assert PW.encode() not in raw and b"other-pw" not in raw and t_other.encode() not in raw


def test_reveal_and_close(blob_dataset, feats, room):
    a = cr.join(blob_dataset, room.code, "Alice", feats)
    label_truth(a, 2)
    with pytest.raises(ColdstartError, match="not revealed"):
        report.class_view_for_student(blob_dataset, room.code, a.key)
    token = cr.teacher_login(blob_dataset, room.code, PW)
    assert cr.set_state(blob_dataset, room.code, token, revealed=True).revealed
    assert len(report.class_view_for_student(blob_dataset, room.code, a.key)) > 0
    with pytest.raises(ColdstartError, match="join it first"):
        report.class_view_for_student(blob_dataset, room.code, "NOTAKEY123")
    assert not cr.set_state(blob_dataset, room.code, token, open_=False).is_open
    with pytest.raises(ColdstartError, match="closed"):
        cr.join(blob_dataset, room.code, "Late", feats)
    with pytest.raises(ColdstartError, match="closed"):
        label_truth(a, 1)
    assert len(a.session.refresh()) == 2


@pytest.mark.parametrize("name, match", [("", "empty"), ("   ", "empty"), ("x" * 41, "too long"),
                                         ("bad\x00name", "control"), ("tab\u200bname", "invisible")])
def test_odd_display_names_get_a_clear_message(blob_dataset, feats, room, name, match):
    with pytest.raises(ColdstartError, match=match):
        cr.join(blob_dataset, room.code, name, feats)


def test_wrong_codes_and_bad_classroom_settings(blob_dataset, feats):
    with pytest.raises(ColdstartError, match="not a classroom"):
        cr.join(blob_dataset, "NOPE42", "Alice", feats)
    with pytest.raises(ColdstartError, match="not a classroom"):
        cr.find_classroom(blob_dataset, "")
    with pytest.raises(ColdstartError, match="too short"):
        cr.create_classroom(blob_dataset, "x", "123", embedder="pixels")
    with pytest.raises(ColdstartError, match="assignment"):
        cr.create_classroom(blob_dataset, "x", PW, embedder="pixels", assignment="lottery")
    with pytest.raises(ColdstartError, match="registered selectors"):
        cr.create_classroom(blob_dataset, "x", PW, embedder="pixels", methods=("vibes",))


def test_password_hash_is_salted_scrypt():
    from coldstart.classroom import secrets as sec

    s1, h1 = sec.hash_password("correct horse")
    s2, h2 = sec.hash_password("correct horse")
    assert s1 != s2 and h1 != h2 and len(h1) == 32
    assert sec.check_password("correct horse", s1, h1) and not sec.check_password("correct hors", s1, h1)
    assert set(sec.new_code()) <= set(sec.ALPHABET) and len(sec.new_seat_key()) == sec.SEAT_KEY_LENGTH


def test_the_random_reference_is_computed_at_join_and_no_label_refits_it(blob_dataset, feats, room, monkeypatch):
    from coldstart.label import reference

    a = cr.join(blob_dataset, room.code, "Alice", feats)
    want = min(len(a.session.pool), room.n_coldstart + cr.room.RANDOM_AHEAD)
    assert len(pd.read_parquet(a.session.random_path)) == want

    def refit(*args, **kwargs):
        raise AssertionError("the random reference was refitted during a label")

    monkeypatch.setattr(reference, "learning_curve", refit)
    n = min(5, want)
    label_truth(a, n)
    assert len(a.session.random_curve()) == n
    # the student's own probe is still refitted after every label: one AP per label
    assert a.session.curve()["n_labels"].tolist() == list(range(1, n + 1))


def test_progress_lists_students_without_labels_and_majority_breaks_ties_low(blob_dataset, feats, room):
    a = cr.join(blob_dataset, room.code, "Alice", feats)
    cr.join(blob_dataset, room.code, "Bob", feats)
    label_truth(a, 2)
    token = cr.teacher_login(blob_dataset, room.code, PW)
    prog = report.progress(blob_dataset, room.code, token).set_index("student")
    assert prog.loc["Bob", "labels"] == 0 and np.isnan(prog.loc["Bob", "ap_now"]) and prog.loc["Bob", "last_label"] == ""
    assert prog.loc["Alice", "labels"] == 2
    votes = pd.DataFrame({"row": [7, 7, 3], "label": [1, 0, 1], "student": ["A", "B", "A"]})
    maj = report.majority_labels(votes)
    assert maj["row"].tolist() == [7, 3] and maj["label"].tolist() == [0, 1]  # a 1-1 tie: the lower class
    assert maj["votes"].tolist() == [2, 1] and maj["consensus"].tolist() == [0.5, 1.0]
    assert maj["students"].tolist() == ["A, B", "A"]
