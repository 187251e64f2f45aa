"""SIGKILL a run in the middle of a unit, then again in the middle of writing its results, and resume.

tests/test_runs.py already kills a runner at a random moment between units;
here the kills are placed deterministically by a small driver script that
wraps two functions inside the runner process (no hook in the product code):

* ``KILL_AT_UNIT=K``: SIGKILL inside the K-th unit's training (mid-unit);
* ``KILL_AT_RESULTS_WRITE=N``: on the N-th append to ``results.jsonl``, write
  half of the unit's line and SIGKILL (mid-write).

The runs use ``workers=1`` (the hooks live in the runner process); a parallel
run killed and resumed is tested in tests/test_executors.py.

After both kills the run resumes; finished units are not recomputed (events),
no file is torn, and the results equal an uninterrupted run with the same seeds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldstart.runs import RunConfig, RunStore, plan_units, resume_run
from coldstart.runs.runner import create_run, execute

TIMING = ["train_s", "unit_s"]

DRIVER = textwrap.dedent('''
    import os, signal, sys

    import coldstart.train.tasks as tasks
    from coldstart.runs.store import RESULTS, RunStore
    from coldstart.runs.work import Work

    kill_unit = int(os.environ.get("KILL_AT_UNIT", "0"))
    kill_write = int(os.environ.get("KILL_AT_RESULTS_WRITE", "0"))
    n_unit, n_write, armed = [0], [0], [False]
    run_unit, run_task, append = Work.run_unit, tasks.run_task, RunStore.append_results

    def die(msg):
        print(msg, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def hooked_unit(self, u):
        n_unit[0] += 1
        armed[0] = n_unit[0] == kill_unit
        out = run_unit(self, u)
        if armed[0]:  # an untrainable unit never trains: die after it, before its result is written
            die("killing mid-unit")
        return out

    def hooked_task(*a, **k):
        if armed[0]:
            die("killing mid-unit")  # inside the training
        return run_task(*a, **k)

    def hooked_append(self, unit, rows):
        n_write[0] += 1
        if n_write[0] == kill_write:
            import json
            line = json.dumps({"unit": unit, "rows": rows}, sort_keys=True, default=str)
            with open(self.dir / RESULTS, "a") as fh:
                fh.write(line[: len(line) // 2])  # torn line, no newline
            print("killing mid-write", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return append(self, unit, rows)

    tasks.run_task = hooked_task
    Work.run_unit = hooked_unit
    RunStore.append_results = hooked_append
    from coldstart.runs.runner import main
    sys.exit(main([sys.argv[1]]))
''')


def _strategy() -> str:
    try:
        import coldstart.select.uncertainty  # noqa: F401
    except ModuleNotFoundError:
        return "random"
    return "least-confidence"


def _cfg() -> RunConfig:
    return RunConfig.from_dict(dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"],
                                    budgets=[8, 16], seeds=[0, 1], rounds=2, query_size=4,
                                    strategy=_strategy(), oracle={"noise": 0.1}, n_bootstrap=20, workers=1))


def _run_driver(tmp_path, run_dir, **env) -> subprocess.CompletedProcess:
    drv = tmp_path / "driver.py"
    drv.write_text(DRIVER)
    e = dict(os.environ, **{k: str(v) for k, v in env.items()})
    e["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), e.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, str(drv), str(run_dir)], env=e, capture_output=True, text=True,
                          timeout=300)


def _no_torn_files(run_dir: Path) -> list[Path]:
    """Every final file of the run folder reads back; returns the leftover temp files."""
    for p in run_dir.rglob("*.parquet"):
        if not p.name.startswith("."):
            pd.read_parquet(p)
    for p in run_dir.rglob("*.npz"):
        if not p.name.startswith("."):
            with np.load(p) as z:
                [z[k] for k in z.files]
    json.loads((run_dir / "config.json").read_text())
    return sorted(run_dir.rglob(".*.tmp"))


def _started(events) -> list[str]:
    return [e["unit"] for e in events if e["event"] == "unit-started"]


@pytest.mark.slow
def test_sigkill_mid_unit_and_mid_write_then_resume(blob_dataset, tmp_path):
    cfg = _cfg()
    units = [u.key for u in plan_units(cfg)]
    ref = execute(create_run(cfg))

    d = create_run(cfg)
    st = RunStore.from_dir(d)

    # 1) killed inside the 4th unit: 3 units are finished, the 4th has started only
    p = _run_driver(tmp_path, d, KILL_AT_UNIT=4)
    assert p.returncode == -signal.SIGKILL and "killing mid-unit" in p.stdout, p.stderr[-2000:]
    assert st.status() == "interrupted"
    assert st.done_units() == set(units[:3])
    assert _started(st.events()) == units[:4]
    assert _no_torn_files(d) == []

    # 2) resumed, then killed while appending the results of the 4th unit it finishes
    #    (the 1st append of the resumed process is unit 4, so the 4th append is unit 7)
    p = _run_driver(tmp_path, d, KILL_AT_RESULTS_WRITE=4)
    assert p.returncode == -signal.SIGKILL and "killing mid-write" in p.stdout, p.stderr[-2000:]
    assert st.status() == "interrupted"
    assert _no_torn_files(d) == []
    assert not (d / "results.jsonl").read_bytes().endswith(b"\n")  # the torn line is there...
    assert st.done_units() == set(units[:6]), "a killed write must leave the previous units only"  # ...and ignored
    assert _started(st.events()) == units[:4] + units[3:7]

    # a torn last line in the event log (a kill inside append) is tolerated too
    with open(d / "events.jsonl", "a") as fh:
        fh.write('{"event": "unit-fin')
    assert st.status() == "interrupted"

    # 3) resume to the end in this process
    n_ev = len(st.events())
    resume_run("blobs", d.name, background=False)
    assert st.status() == "finished"
    later = _started(st.events()[n_ev:])
    assert later == units[6:], "finished units were recomputed, or unfinished ones skipped"
    assert _no_torn_files(d) == [], "temp files of the killed runner were not cleaned up"
    # over the whole history only the two killed units ran twice
    starts = pd.Series(_started(st.events())).value_counts()
    assert set(starts[starts > 1].index) == {units[3], units[6]} and starts.max() == 2

    got = st.results().drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)
    want = ref.drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)
    assert got["unit"].nunique() == len(units)
    pd.testing.assert_frame_equal(got, want)
    # the per-unit predictions and selections also equal the uninterrupted run's
    ref_st = RunStore.from_dir(sorted((blob_dataset.dir / "runs").iterdir())[0])
    if ref_st.run_id == st.run_id:
        ref_st = RunStore.from_dir(sorted((blob_dataset.dir / "runs").iterdir())[1])
    for u in units:
        pd.testing.assert_frame_equal(st.predictions(u), ref_st.predictions(u))
    for m in cfg.methods:
        for s in cfg.seeds:
            pd.testing.assert_frame_equal(st.selection(m, s), ref_st.selection(m, s))
