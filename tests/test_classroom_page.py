"""AppTest for the Classroom page: a teacher creates a classroom, two students join and label, the teacher's
view shows them; a student's page cannot reach the teacher's view or another seat."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldstart import classroom as cr

REPO = Path(__file__).resolve().parents[1]
PW = "teach-me-42"


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "pages" / "5_Classroom.py"), default_timeout=180)


def _button(at, label: str):
    for b in at.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}: {[b.label for b in at.button]}")


@pytest.fixture
def blobs_with_pixels(blob_dataset):
    from coldstart.embed import load_embeddings

    load_embeddings(blob_dataset, "pixels")
    return blob_dataset


def _student(code: str, name: str):
    at = _app().run()
    at.text_input(key="cls_code").input(code)
    at.text_input(key="cls_name").input(name)
    _button(at, "Join").click()
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["room"] == [code] or at.query_params["room"] == code
    return at


def _seat(at) -> str:
    v = at.query_params["seat"]
    return v[0] if isinstance(v, list) else v


def test_teacher_creates_students_join_label_teacher_sees(blobs_with_pixels):
    ds = blobs_with_pixels
    teacher = _app().run()
    assert not teacher.exception, teacher.exception
    teacher.radio(key="cls_who").set_value("the teacher").run()
    teacher.text_input(key="cls_new_name").input("Monday")
    teacher.selectbox(key="cls_new_embedder").select("pixels")
    teacher.multiselect(key="cls_new_methods").set_value(["random", "kmeans"])
    teacher.number_input(key="cls_new_n").set_value(3)
    assert teacher.radio(key="cls_new_assignment").value == "round-robin"  # an experiment by default
    teacher.text_input(key="cls_new_pw").input(PW)
    _button(teacher, "Create classroom").click()
    teacher.run()
    assert not teacher.exception, teacher.exception
    code = teacher.session_state["cls_teacher"]["code"]
    assert cr.find_classroom(ds, code).methods == ("random", "kmeans")

    alice, bob = _student(code, "Alice"), _student(code, "Bob")
    for at, n in ((alice, 4), (bob, 3)):
        for k in range(n):
            at.button(key=f"cls_btn_{k % 2}").click()
            at.run()
            assert not at.exception, at.exception
    assert "4 images labelled" in alice.markdown[0].value
    assert "3 images labelled" in bob.markdown[0].value, [bob.markdown[0].value, [i.value for i in bob.info]]
    # a taken name gets a clear message and no second seat
    dup = _app().run()
    dup.text_input(key="cls_code").input(code)
    dup.text_input(key="cls_name").input("alice")
    _button(dup, "Join").click()
    dup.run()
    assert any("already taken" in e.value for e in dup.error) and "seat" not in dup.query_params
    # a wrong code too
    bad = _app().run()
    bad.text_input(key="cls_code").input("ZZZZZZ")
    bad.text_input(key="cls_name").input("Eve")
    _button(bad, "Join").click()
    bad.run()
    assert any("not a classroom" in e.value for e in bad.error)

    teacher.run()
    assert not teacher.exception, teacher.exception
    prog = [d.value for d in teacher.dataframe if "student" in d.value.columns][0]
    assert dict(zip(prog["student"], prog["labels"])) == {"Alice": 4, "Bob": 3}
    specs = [c.proto.spec for c in teacher.get("plotly_chart")]
    import re
    assert any("random (mean" in s and "kmeans (mean" in s for s in specs), [re.findall(r"\"name\":\"[^\"]*\"", s) for s in specs]
    # the exports are built only once the teacher opens their expander
    assert not teacher.get("download_button")
    teacher.session_state["cls_export_open"] = True
    teacher.run()
    assert {"Every label of every student (CSV)"} <= {d.proto.label for d in teacher.get("download_button")}
    # reveal: the students now see the ground truth and the class curves
    teacher.toggle(key="cls_reveal").set_value(True).run()
    assert cr.find_classroom(ds, code).revealed
    alice.run()
    assert any("Revealed by your teacher" in h.value for h in alice.subheader)
    # closing stops labelling; the student's buttons are disabled and the store refuses writes
    _button(teacher, "Close classroom").click()
    teacher.run()
    alice.run()
    assert all(b.disabled for b in alice.button if b.key and b.key.startswith("cls_btn_"))


def test_a_student_page_never_reaches_the_teacher_or_another_seat(blobs_with_pixels):
    ds = blobs_with_pixels
    room = cr.create_classroom(ds, "Monday", PW, embedder="pixels", methods=("random",), n_coldstart=2)
    feats = ds.load_images(None, 8).reshape(len(ds), -1)
    bob = cr.join(ds, room.code, "Bob", feats)
    # a forged seat in the URL: an error, no labelling buttons, no seat opened
    at = _app()
    at.query_params["room"] = room.code
    at.query_params["seat"] = "FORGEDKEY2"
    at.run()
    assert any("not a seat" in e.value for e in at.error)
    assert not [b for b in at.button if b.key and b.key.startswith("cls_btn_")]
    # another student's session state cannot make them the teacher: a made-up token is refused by the store
    at2 = _app()
    at2.session_state["cls_teacher"] = {"code": room.code, "token": "made-up"}
    at2.run()
    assert any("log in with the teacher password" in e.value for e in at2.error)
    assert not at2.dataframe
    # Bob's real seat works and shows only Bob's labels
    at3 = _app()
    at3.query_params["room"] = room.code
    at3.query_params["seat"] = bob.key
    at3.run()
    assert not at3.exception and "**Bob**" in at3.markdown[0].value
