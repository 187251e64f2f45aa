"""SIGKILL a run in the middle of a unit, then again in the middle of writing its results, and resume.

tests/test_runs.py already kills a runner at a random moment between units;
here the kills are placed deterministically by a small driver script that
wraps two functions inside the runner process (no hook in the product code):

* ``KILL_AT_UNIT=K``: SIGKILL inside the K-th unit's training (mid-unit);
* ``KILL_AT_RESULTS_WRITE=N``: on the N-th write of ``results.parquet``, write
  the temp file, tear it in half and SIGKILL before the rename (mid-write).

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
    from pathlib import Path

    import pandas as pd

    import coldstart.train.tasks as tasks
    from coldstart.runs.runner import _Work

    kill_unit = int(os.environ.get("KILL_AT_UNIT", "0"))
    kill_write = int(os.environ.get("KILL_AT_RESULTS_WRITE", "0"))
    n_unit, n_write, armed = [0], [0], [False]
    run_unit, run_task, to_parquet = _Work.run_unit, tasks.run_task, pd.DataFrame.to_parquet

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

    def hooked_parquet(self, path, *a, **k):
        out = to_parquet(self, path, *a, **k)
        if Path(str(path)).name.startswith(".results.parquet."):
            n_write[0] += 1
            if n_write[0] == kill_write:
                data = Path(path).read_bytes()
                Path(path).write_bytes(data[: len(data) // 2])  # torn temp file, not yet renamed
                print("killing mid-write", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        return out

    tasks.run_task = hooked_task
    _Work.run_unit = hooked_unit
    pd.DataFrame.to_parquet = hooked_parquet
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
                                    strategy=_strategy(), oracle={"noise": 0.1}, n_bootstrap=20))


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

    # 2) resumed, then killed while writing results.parquet for the 4th unit it finishes
    #    (the 1st write of the resumed process is unit 4, so the 4th write is unit 7)
    p = _run_driver(tmp_path, d, KILL_AT_RESULTS_WRITE=4)
    assert p.returncode == -signal.SIGKILL and "killing mid-write" in p.stdout, p.stderr[-2000:]
    assert st.status() == "interrupted"
    torn = _no_torn_files(d)  # the old results.parquet is intact; the torn temp file is beside it
    assert [t.name.split(".parquet.")[0] for t in torn] == [".results"]
    with pytest.raises(Exception):
        pd.read_parquet(torn[0])
    assert st.done_units() == set(units[:6]), "a killed write must leave the previous table"
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
