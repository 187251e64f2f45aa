"""Several processes on one dataset at once: runs, embedding caches, maps.

tests/test_embed.py already shows two processes asking for the same embedding
key compute it once. Here: two whole runs started together on a dataset whose
embedding is not cached yet; a second runner on a run that is already running;
a process SIGKILLed while it holds the embedding lock (the waiting process takes
over and resumes from its chunks); two processes writing the same map.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, resume_run
from coldstart.runs.runner import create_run, execute

ROOT = Path(__file__).resolve().parents[1]
TIMING = ["train_s", "unit_s"]


def _env(**kw) -> dict:
    e = dict(os.environ, **{k: str(v) for k, v in kw.items()})
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")])
    return e


def _runner(run_dir, delay="0") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coldstart.runs.runner", str(run_dir)],
                            env=_env(COLDSTART_TEST_UNIT_DELAY=delay), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _table(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=TIMING).sort_values(["unit", "metric"]).reset_index(drop=True)


@pytest.mark.slow
def test_two_runs_on_one_dataset_at_once(blob_dataset):
    from coldstart.embed import cache_info, load_embeddings
    from coldstart.embed.pixels import PixelsEmbedder

    cfgs = [RunConfig.from_dict(dict(dataset="blobs", methods=m, budgets=[8, 16], seeds=[0, 1], n_bootstrap=20))
            for m in (["random", "pixels:kmeans"], ["pixels:kmeans", "pixels:typiclust"])]
    assert cache_info(blob_dataset, "pixels") is None  # both runners need it: they race for the lock
    dirs = [create_run(c) for c in cfgs]
    procs = [_runner(d, delay="0.5") for d in dirs]
    # while they run, a second runner on the same run is refused, and nothing is disturbed
    t0 = time.time()
    while RunStore.from_dir(dirs[0]).status() != "running" and time.time() - t0 < 60:
        time.sleep(0.05)
    with pytest.raises(ColdstartError, match="already running"):
        resume_run("blobs", dirs[0].name, background=False)
    with pytest.raises(ColdstartError, match="already running"):
        execute(dirs[0])
    for p in procs:
        assert p.wait(timeout=240) == 0, p.stderr.read().decode()[-2000:]
    stores = [RunStore.from_dir(d) for d in dirs]
    assert [s.status() for s in stores] == ["finished", "finished"]
    # the shared cache is valid and equals a fresh computation
    np.testing.assert_array_equal(load_embeddings(blob_dataset, "pixels"), PixelsEmbedder().embed(blob_dataset))
    assert not list(blob_dataset.cache_dir("emb").glob("*.parts")) and not list(
        blob_dataset.dir.rglob(".*.tmp"))
    # each concurrent run equals the same config run alone afterwards
    for cfg, st in zip(cfgs, stores):
        alone = execute(create_run(cfg))
        pd.testing.assert_frame_equal(_table(st.results()), _table(alone))
        assert [e["event"] for e in st.events()].count("unit-started") == 8


EMBED_SLOW = textwrap.dedent('''
    import sys, time
    from coldstart.embed.pixels import PixelsEmbedder
    from coldstart.embed import cache_info, load_embeddings
    orig = PixelsEmbedder.embed
    def slow(self, ds, *a, **k):
        with open(sys.argv[1], "a") as fh:
            fh.write("chunk\\n")
        time.sleep(float(sys.argv[2]))
        return orig(self, ds, *a, **k)
    PixelsEmbedder.embed = slow
    load_embeddings("pool", "pixels", chunk_size=8)
    print("resumed_chunks", cache_info("pool", "pixels")["resumed_chunks"], flush=True)
''')


@pytest.mark.slow
def test_embedding_lock_holder_killed_the_waiter_takes_over(data_root, tmp_path):
    from conftest import make_blob_dataset

    from coldstart.embed import cached_embeddings
    from coldstart.embed.pixels import PixelsEmbedder

    ds = make_blob_dataset("pool", data_root, n=48)  # 6 chunks of 8
    a_log, b_log = tmp_path / "a.log", tmp_path / "b.log"
    a = subprocess.Popen([sys.executable, "-c", EMBED_SLOW, str(a_log), "0.5"], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while (not a_log.exists() or a_log.read_text().count("chunk") < 3) and time.time() - t0 < 60:
        time.sleep(0.02)
    b = subprocess.Popen([sys.executable, "-c", EMBED_SLOW, str(b_log), "0.0"], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert b.poll() is None and not b_log.exists(), "the second process must wait for the lock"
    assert cached_embeddings(ds, "pixels") is None  # readers never see a partial entry
    a.send_signal(signal.SIGKILL)
    a.wait()
    out, err = b.communicate(timeout=120)
    assert b.returncode == 0, err[-2000:]
    started_by_a = a_log.read_text().count("chunk")
    resumed = int(out.split("resumed_chunks")[1].split()[0])  # chunks B reused from A
    # A was almost surely killed inside a chunk (lost), at worst just after saving it
    assert resumed >= 2 and resumed in (started_by_a - 1, started_by_a), (resumed, started_by_a)
    assert b_log.read_text().count("chunk") == 6 - resumed  # B computed only the rest
    np.testing.assert_array_equal(cached_embeddings(ds, "pixels"), PixelsEmbedder().embed(ds))
    assert not list(ds.cache_dir("emb").glob("*.parts")) and not list(ds.dir.rglob(".*.tmp"))


def test_two_processes_write_the_same_map(blob_dataset):
    from coldstart.maps import cached_map, list_maps

    from coldstart.embed import get_embedder, load_embeddings

    load_embeddings(blob_dataset, "pixels")
    cmd = [sys.executable, "-m", "coldstart.cli", "map", "blobs", "--embedder", "pixels", "--method", "pca",
           "--force"]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read().decode()[-2000:]
    key = get_embedder("pixels", blob_dataset).key
    y = cached_map(blob_dataset, key, "pca", 0)
    assert y is not None and y.shape == (len(blob_dataset), 2) and np.isfinite(y).all()
    assert len(list_maps(blob_dataset)) == 1
    assert not list(blob_dataset.cache_dir("map").glob(".*.tmp"))
