"""--executor ray: the same report as local, per-unit results, cancel/resume, a killed worker, clear errors."""

from __future__ import annotations

import sys
import threading
import time

import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, plan_units, report_table, resume_run
from coldstart.runs.runner import create_run, execute

from scale_ray import ray_local  # noqa: F401 - fixture

from test_executors import _cfg as _local_cfg, _table  # noqa: E402 - the same run as the local executor's tests


def _cfg(**kw) -> RunConfig:
    return _local_cfg(**{"rounds": 1, **kw})


def test_ray_run_equals_local_to_the_last_digit(blob_dataset, ray_local, tmp_path, monkeypatch):
    ref = execute(create_run(_cfg(workers=1)))
    monkeypatch.setenv("COLDSTART_TEST_KILL_ONCE", str(tmp_path))  # the first unit's worker dies mid-unit
    d = create_run(_cfg(executor="ray"))
    got = execute(d)
    assert (tmp_path / "killed").exists()  # ... and the unit was retried
    st = RunStore.from_dir(d)
    assert st.status() == "finished"
    assert st.events()[0]["executor"] == "RayExecutor"
    pd.testing.assert_frame_equal(_table(got), _table(ref))
    # the report of the ray run, line for line (row order follows the order units finished, as with local workers)
    assert sorted(report_table(got, "ap", "csv").splitlines()) == sorted(report_table(ref, "ap", "csv").splitlines())
    units = sorted(u.key for u in plan_units(st.config))
    assert sorted(got["unit"].unique()) == units
    assert got.groupby("unit").size().nunique() == 1  # one set of rows per unit: nothing written twice


def test_cancel_stops_the_ray_tasks_and_resume_finishes(blob_dataset, ray_local, monkeypatch):
    ref = execute(create_run(_cfg(workers=1, rounds=0)))
    monkeypatch.setenv("COLDSTART_TEST_UNIT_DELAY", "1.5")
    d = create_run(_cfg(executor="ray", rounds=0))
    t = threading.Thread(target=execute, args=(d,))
    t.start()
    st = RunStore.from_dir(d)
    for _ in range(600):
        if len(st.done_units()) >= 1:
            break
        time.sleep(0.2)
    (d / "cancel.requested").write_text("test")
    t.join(60)
    assert not t.is_alive() and st.status() == "cancelled"
    n_done = len(st.done_units())
    assert 1 <= n_done < len(plan_units(st.config))
    time.sleep(2)
    assert len(st.done_units()) == n_done  # cancelled tasks append nothing afterwards
    monkeypatch.delenv("COLDSTART_TEST_UNIT_DELAY")
    resume_run(None, d.name, background=False)
    assert st.status() == "finished"
    pd.testing.assert_frame_equal(_table(st.results()), _table(ref))


def test_unreachable_cluster_names_the_address(blob_dataset):
    pytest.importorskip("ray")
    d = create_run(_cfg(executor="ray", address="127.0.0.1:1"))
    with pytest.raises(ColdstartError, match=r"127\.0\.0\.1:1 is unreachable"):
        execute(d)
    assert RunStore.from_dir(d).status() == "failed"


def test_executor_ray_without_the_extra_says_how_to_install(blob_dataset, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    d = create_run(_cfg(executor="ray"))
    with pytest.raises(ColdstartError, match=r'pip install -e "\.\[scale\]"'):
        execute(d)


def test_config_checks_executor_and_address():
    with pytest.raises(ColdstartError, match="executor='slurm': choose local or ray"):
        _cfg(executor="slurm")
    with pytest.raises(ColdstartError, match="address='headnode'"):
        _cfg(executor="ray", address="headnode")
    assert _cfg(executor="ray", address="ray://10.0.0.5:10001").address == "ray://10.0.0.5:10001"


def test_unit_resources_follow_task_and_preset():
    from coldstart.runs.ray_executor import unit_resources

    probe = unit_resources(_cfg(), {"CPU": 8})
    assert probe["num_cpus"] == 1 and probe["num_gpus"] == 0
    cls = RunConfig.from_dict(dict(dataset="blobs", task="classification", preset="paper"))
    assert unit_resources(cls, {"CPU": 8, "GPU": 2})["num_gpus"] == 1
    assert unit_resources(cls, {"CPU": 8})["num_gpus"] == 0
    assert unit_resources(cls, {"CPU": 8, "GPU": 2})["memory"] > probe["memory"]
