"""Units in worker processes: same results as one process, reported per unit, AL rounds in order, cancel/kill/resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, cancel_run, plan_units, resume_run
from coldstart.runs.executors import LocalExecutor, SerialExecutor, make_executor
from coldstart.runs.runner import create_run, execute

TIMING = ["train_s", "unit_s"]


def _cfg(**kw) -> RunConfig:
    d = dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[8, 16], seeds=[0, 1],
             rounds=2, query_size=4, oracle={"noise": 0.1}, n_bootstrap=20)
    d.update(kw)
    return RunConfig.from_dict(d)


def _table(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)


def test_make_executor_choice():
    assert isinstance(make_executor(1, 100), SerialExecutor)
    assert isinstance(make_executor(2, 3), SerialExecutor)  # too few units to pay for worker start-up
    ex = make_executor(2, 40)
    assert isinstance(ex, LocalExecutor) and ex.workers == 2
    with pytest.raises(ColdstartError, match=r"workers=0 must be a positive number"):
        _cfg(workers=0)


@pytest.mark.slow
def test_parallel_equals_serial_and_reports_each_unit(blob_dataset):
    serial = create_run(_cfg(workers=1))
    ref = execute(serial)
    d = create_run(_cfg(workers=2))
    got = execute(d)
    st = RunStore.from_dir(d)
    ev = st.events()
    assert ev[0]["event"] == "started" and ev[0]["executor"] == "LocalExecutor" and ev[0]["workers"] == 2
    pd.testing.assert_frame_equal(_table(got), _table(ref))
    units = [u.key for u in plan_units(st.config)]
    lines = (d / "results.jsonl").read_text().splitlines()
    assert sorted(__import__("json").loads(x)["unit"] for x in lines) == sorted(units)  # one line per unit
    ref_st = RunStore.from_dir(serial)
    for u in units:
        pd.testing.assert_frame_equal(st.predictions(u), ref_st.predictions(u))
    # an AL round starts only after the previous round of its (method, seed) has finished
    pos = {(e["event"], e.get("unit")): i for i, e in enumerate(ev)}
    for u in plan_units(st.config):
        if u.phase == "al" and u.round > 0:
            prev = f"al|{u.method}|s{u.seed}|r{u.round - 1}"
            done = pos.get(("unit-finished", prev), pos.get(("unit-untrainable", prev)))
            assert done < pos[("unit-started", u.key)]


def _spawn(run_dir, delay):
    env = dict(os.environ, COLDSTART_TEST_UNIT_DELAY=delay)
    return subprocess.Popen([sys.executable, "-m", "coldstart.runs.runner", str(run_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _wait_units(st, n, p, timeout=120):
    t0 = time.time()
    while st.results()["unit"].nunique() < n:
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
        assert time.time() - t0 < timeout, "runner too slow"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.slow
def test_parallel_cancel_and_kill_then_resume_equal_uninterrupted(blob_dataset):
    ref = execute(create_run(_cfg(workers=1)))
    d = create_run(_cfg(workers=2))
    st = RunStore.from_dir(d)
    p = _spawn(d, "0.5")
    _wait_units(st, 2, p)
    assert cancel_run("blobs", d.name) == "cancelled"
    assert p.wait(timeout=30) == 0
    n_cancel = st.results()["unit"].nunique()
    assert 2 <= n_cancel < len(plan_units(st.config))

    (d / "cancel.requested").unlink()  # what resume_run does before it starts a runner
    p = _spawn(d, "0.5")  # resumed, then SIGKILLed: its workers die with it
    _wait_units(st, n_cancel + 2, p)
    workers = _children(p.pid)
    assert workers, "the resumed run should use worker processes"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t0 = time.time()
    while any(os.path.exists(f"/proc/{w}") and _state(w) != "Z" for w in workers) and time.time() - t0 < 10:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{w}") and _state(w) != "Z" for w in workers), "orphaned workers"
    assert st.status() == "interrupted"
    done_before = st.done_units()
    n_ev = len(st.events())
    resume_run("blobs", d.name, background=False)
    assert st.status() == "finished"
    restarted = {e["unit"] for e in st.events()[n_ev:] if e["event"] == "unit-started"}
    assert not (restarted & done_before), "a finished unit was recomputed"
    pd.testing.assert_frame_equal(_table(st.results()), _table(ref))


def test_schedule_orders_selections_and_rounds():
    from coldstart.runs.units import Schedule, Unit

    units = [Unit("cold", "pixels:kmeans", 0, 20), Unit("al", "pixels:kmeans", 0, 20, 0),
             Unit("al", "pixels:kmeans", 0, 40, 1), Unit("al", "random", 0, 40, 1)]
    plan = Schedule(units)
    assert not any(plan.ready(u) for u in units)  # nothing before its selection
    plan.selected.add(("pixels:kmeans", 0))
    assert [plan.ready(u) for u in units[:3]] == [True, True, False]  # round 1 waits for round 0
    plan.finished.add(units[1].key)
    assert plan.ready(units[2])
    plan.selected.add(("random", 0))
    assert plan.ready(units[3])  # its round 0 is not among the units to run (finished earlier)
