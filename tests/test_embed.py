"""Embedders: registry, pixels, the on-disk cache (hits, invalidation, resume, concurrency), bring-your-own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldstart.embed import cached_embeddings, get_embedder, list_embedders, load_embeddings, names
from coldstart.embed.pixels import InputPixelsEmbedder, PixelsEmbedder
from coldstart.errors import ColdstartError

from conftest import make_blob_dataset

ROOT = Path(__file__).resolve().parents[1]
ALL = ["pixels", "pixels-32", "gist", "txrv-densenet121", "txrv-resnet50", "txrv-autoencoder",
       "imagenet-densenet121", "imagenet-densenet121-relu", "file", "ssl-pool"]


# ---- registry ---------------------------------------------------------------

def test_registry_lists_every_named_embedder(data_root):
    assert names() == ALL
    df = list_embedders()
    assert list(df.columns) == ["name", "available", "reason", "dim", "summary", "weights", "default"]
    assert df.loc[df["default"], "name"].tolist() == ["pixels"]  # no weights here: raw pixels
    assert list(df["name"]) == ALL
    assert bool(df.set_index("name").loc["pixels", "available"])
    assert df.set_index("name").loc["pixels-32", "dim"] == 1024  # the 32 px thumbnail
    assert df.set_index("name").loc["pixels", "dim"] == 224 * 224  # the paper's input size (no dataset to cap it)
    for name in ALL:
        e = get_embedder(name)
        assert e.summary and isinstance(e.key, str) and e.key


def test_unknown_embedder_lists_valid_names():
    with pytest.raises(ColdstartError, match="unknown embedder 'resnet9000'.*pixels.*txrv-densenet121"):
        get_embedder("resnet9000")


def test_keys_are_distinct_and_filename_safe():
    keys = [get_embedder(n).key for n in names() if n not in ("file", "ssl-pool")]
    assert len(set(keys)) == len(keys)
    assert all(k.replace("-", "").replace("_", "").isalnum() for k in keys)


def test_unavailable_weights_say_which_file_to_put_where(data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    wdir = tmp_path / "weights"
    for name, fname in [("txrv-densenet121", "densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"),
                        ("txrv-resnet50", "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt"),
                        ("txrv-autoencoder", "nihpcrsnamimic_ch-resnet101-2-ae-test2-elastic-e250.pt"),
                        ("imagenet-densenet121", "densenet121-a639ec97.pth")]:
        ok, reason = get_embedder(name).available()
        assert not ok
        assert fname in reason and str(wdir) in reason and "https://" in reason, reason


def test_missing_weights_error_through_load_and_cli(blob_dataset, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ColdstartError, match="put densenet121-a639ec97.pth in"):
        load_embeddings(blob_dataset, "imagenet-densenet121")
    from coldstart.cli import main

    assert main(["embed", "blobs", "--embedder", "txrv-resnet50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt" in err
    assert main(["embedders"]) == 0
    out = capsys.readouterr().out
    for n in ALL:
        assert n in out


def test_cli_embed_and_force(blob_dataset, capsys, monkeypatch):
    from coldstart.cli import main

    assert main(["embed", "blobs", "--embedder", "pixels"]) == 0
    assert "60 x 1024" in capsys.readouterr().out
    calls = _count_calls(monkeypatch)
    assert main(["embed", "blobs", "--embedder", "pixels"]) == 0 and not calls  # cache hit
    assert main(["embed", "blobs", "--embedder", "pixels", "--force"]) == 0 and calls  # recomputed


# ---- pixels -------------------------------------------------------------------

def test_pixels_are_resized_flattened_images(blob_dataset):
    x = load_embeddings(blob_dataset, "pixels-32")
    assert x.shape == (60, 1024) and x.dtype == np.float32
    np.testing.assert_array_equal(x[7], blob_dataset.load_image(7, 32).reshape(-1))
    sub = PixelsEmbedder().embed(blob_dataset, indices=[3, 1])
    np.testing.assert_array_equal(sub, x[[3, 1]])


# ---- cache --------------------------------------------------------------------

def _count_calls(monkeypatch, fail_after=None):
    calls = []
    orig = PixelsEmbedder.embed

    def embed(self, dataset, *a, indices=None, **kw):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt("simulated kill")
        calls.append(None if indices is None else list(indices))
        return orig(self, dataset, *a, indices=indices, **kw)

    monkeypatch.setattr(PixelsEmbedder, "embed", embed)
    return calls


def test_second_request_is_a_file_read(blob_dataset, monkeypatch):
    assert cached_embeddings(blob_dataset, "pixels-32") is None
    x = load_embeddings(blob_dataset, "pixels-32")
    emb = blob_dataset.cache_dir("emb")
    meta = json.loads((emb / "pixels-32-v1.json").read_text())
    assert meta["shape"] == [60, 1024] and meta["dtype"] == "float32"
    assert meta["manifest_hash"] == blob_dataset.manifest_hash and meta["key"] == "pixels-32-v1"
    assert "numpy" in meta["versions"] and meta["seconds"] >= 0

    def boom(*a, **k):
        raise AssertionError("embed() called on a cache hit")

    monkeypatch.setattr(PixelsEmbedder, "embed", boom)
    np.testing.assert_array_equal(load_embeddings(blob_dataset, "pixels-32"), x)
    np.testing.assert_array_equal(cached_embeddings(blob_dataset, "pixels-32"), x)
    assert not (emb / "pixels-32-v1.parts").exists()


def test_changed_manifest_invalidates(data_root, monkeypatch):
    ds = make_blob_dataset("pool", data_root, n=20, seed=0)
    x0 = load_embeddings(ds, "pixels-32")
    ds2 = make_blob_dataset("pool", data_root, n=24, seed=1)  # re-import under the same name
    assert ds2.manifest_hash != ds.manifest_hash
    assert cached_embeddings(ds2, "pixels-32") is None
    calls = _count_calls(monkeypatch)
    x1 = load_embeddings(ds2, "pixels-32")
    assert calls and x1.shape == (24, 1024) and x0.shape == (20, 1024)


def test_interrupted_job_resumes_where_it_stopped(data_root, monkeypatch):
    ds = make_blob_dataset("pool", data_root, n=50)
    full = PixelsEmbedder().embed(ds)
    calls = _count_calls(monkeypatch, fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        load_embeddings(ds, "pixels-32", chunk_size=8)
    assert len(calls) == 3
    parts = ds.cache_dir("emb") / "pixels-32-v1.parts"
    assert len(list(parts.glob("*.npy"))) == 3
    assert cached_embeddings(ds, "pixels-32") is None
    monkeypatch.undo()
    calls = _count_calls(monkeypatch)
    x = load_embeddings(ds, "pixels-32", chunk_size=8)
    assert [c[0] for c in calls] == [24, 32, 40, 48]  # only the missing chunks
    np.testing.assert_array_equal(x, full)
    info = json.loads((ds.cache_dir("emb") / "pixels-32-v1.json").read_text())
    assert info["resumed_chunks"] == 3 and not parts.exists()


def test_stale_parts_from_another_manifest_are_discarded(data_root, monkeypatch):
    ds = make_blob_dataset("pool", data_root, n=20, seed=0)
    _count_calls(monkeypatch, fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        load_embeddings(ds, "pixels-32", chunk_size=8)
    monkeypatch.undo()
    ds2 = make_blob_dataset("pool", data_root, n=20, seed=5)
    x = load_embeddings(ds2, "pixels-32", chunk_size=8)
    np.testing.assert_array_equal(x, PixelsEmbedder().embed(ds2))


def test_concurrent_writers_compute_once_and_agree(data_root, tmp_path):
    make_blob_dataset("pool", data_root, n=40)
    log = tmp_path / "calls.log"
    script = textwrap.dedent(f"""
        import sys, time, numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        from coldstart.embed.pixels import InputPixelsEmbedder, PixelsEmbedder
        from coldstart.embed import load_embeddings
        orig = PixelsEmbedder.embed
        def slow(self, ds, *a, **k):
            with open({str(log)!r}, "a") as fh:
                fh.write("call\\n")
            time.sleep(0.3)
            return orig(self, ds, *a, **k)
        PixelsEmbedder.embed = slow
        x = load_embeddings("pool", "pixels-32", chunk_size=10)
        np.save(sys.argv[1], x)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / f"out{i}.npy")])
             for i in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    a, b = (np.load(tmp_path / f"out{i}.npy") for i in range(2))
    np.testing.assert_array_equal(a, b)
    assert log.read_text().count("call") == 4  # 4 chunks, computed by one process only
    np.testing.assert_array_equal(cached_embeddings("pool", "pixels-32"), a)


def test_bad_arguments(blob_dataset):
    with pytest.raises(ColdstartError, match="batch_size=0"):
        load_embeddings(blob_dataset, "pixels", batch_size=0)
    with pytest.raises(ColdstartError, match="not found"):
        load_embeddings("nope", "pixels")


# ---- bring your own -------------------------------------------------------------

def test_file_npy_and_table_roundtrip(blob_dataset, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    np.save(tmp_path / "emb.npy", x)
    got = load_embeddings(blob_dataset, f"file:{tmp_path / 'emb.npy'}")
    np.testing.assert_array_equal(got, x)
    df = pd.DataFrame(x, columns=[f"d{i}" for i in range(5)]).assign(id=blob_dataset.ids)
    df = df.iloc[rng.permutation(60)]  # rows in any order: matched by id
    df.to_parquet(tmp_path / "emb.parquet")
    df.to_csv(tmp_path / "emb.csv", index=False)
    np.testing.assert_array_equal(load_embeddings(blob_dataset, f"file:{tmp_path / 'emb.parquet'}"), x)
    np.testing.assert_allclose(load_embeddings(blob_dataset, f"file:{tmp_path / 'emb.csv'}"), x, rtol=1e-6)
    # a changed file is a new cache entry
    np.save(tmp_path / "emb.npy", x + 1)
    np.testing.assert_array_equal(load_embeddings(blob_dataset, f"file:{tmp_path / 'emb.npy'}"), x + 1)


@pytest.mark.parametrize("case,match", [
    ("missing", r"1 manifest ids are missing \(e.g. \['img0003'\]\)"),
    ("extra", r"1 ids are not in dataset 'blobs' \(e.g. \['stranger'\]\)"),
    ("dup", "repeats 1 ids"),
    ("noid", "no 'id' column"),
    ("nan", r"NaN or inf values in 1 rows \(e.g. ids \['img0002'\]\)"),
    ("inf", "NaN or inf"),
    ("text", "non-numeric columns"),
    ("rows", "has 59 rows but dataset 'blobs' has 60 images"),
    ("shape3d", r"has shape \(60, 2, 2\): expected a 2-D array"),
    ("absent", "does not exist"),
    ("suffix", "suffix '.txt'"),
])
def test_file_errors_are_clear(blob_dataset, tmp_path, case, match):
    ids = list(blob_dataset.ids)
    x = np.ones((60, 3), np.float32)
    df = pd.DataFrame(x, columns=["a", "b", "c"]).assign(id=ids)
    path = tmp_path / "emb.csv"
    if case == "missing":
        df = df.drop(index=3)
    elif case == "extra":
        df = pd.concat([df, pd.DataFrame({"a": [1.0], "b": [1.0], "c": [1.0], "id": ["stranger"]})])
    elif case == "dup":
        df = pd.concat([df, df.iloc[[0]]])
    elif case == "noid":
        df = df.drop(columns="id")
    elif case == "nan":
        df.loc[2, "b"] = np.nan
    elif case == "inf":
        df.loc[5, "a"] = np.inf
    elif case == "text":
        df["c"] = "x"
    if case in ("rows", "shape3d"):
        path = tmp_path / "emb.npy"
        np.save(path, np.ones((59, 3)) if case == "rows" else np.ones((60, 2, 2)))
    elif case == "absent":
        path = tmp_path / "nothing.npy"
    elif case == "suffix":
        path = tmp_path / "emb.txt"
        path.write_text("1 2 3")
    else:
        df.to_csv(path, index=False)
    with pytest.raises(ColdstartError, match=match):
        load_embeddings(blob_dataset, f"file:{path}")
    assert not list(blob_dataset.cache_dir("emb").glob("*.npy"))


def test_plain_file_row_explains_usage():
    ok, reason = get_embedder("file").available()
    assert not ok and "file:PATH" in reason and "id" in reason


# ---- the contract every runnable embedder meets ---------------------------------

def _weight_free() -> list[str]:
    """Every registry name that runs without external weights: built-ins with no ``weights_id``, and the
    parameterised ``file:`` / ``ssl-pool:`` (given a file / a model trained here)."""
    from coldstart.embed.registry import BUILTIN, PARAMETRISED, _load

    return [n for n, target in BUILTIN.items() if getattr(_load(target), "weights_id", None) is None] + \
        list(PARAMETRISED)


WEIGHT_FREE = _weight_free()


def test_weight_free_list_is_the_quick_embedders_plus_the_parameterised_ones():
    from coldstart.embed.registry import PARAMETRISED, QUICK

    assert set(WEIGHT_FREE) == set(QUICK) | set(PARAMETRISED)  # a new weight-free embedder joins the template


def _runnable_name(name, dataset, tmp_path):
    """The name to ask the registry for: ``file:`` gets a file, ``ssl-pool:`` a model trained on the pool."""
    if name == "file":
        np.save(tmp_path / "own.npy", np.random.default_rng(1).normal(size=(len(dataset), 7)).astype(np.float32))
        return f"file:{tmp_path / 'own.npy'}"
    if name == "ssl-pool":
        from coldstart.embed import pretrain_ssl

        return f"ssl-pool:{pretrain_ssl(dataset, epochs=1, arch='tiny', input_size=32, batch_size=16)}"
    return name


@pytest.mark.parametrize("base", WEIGHT_FREE)
def test_every_weight_free_embedder_meets_the_contract(blob_dataset, tmp_path, base):
    name = _runnable_name(base, blob_dataset, tmp_path)
    e = get_embedder(name, blob_dataset)
    assert e.available()[0], name
    x = load_embeddings(blob_dataset, name, device="cpu", chunk_size=25)
    assert x.dtype == np.float32 and x.shape[0] == len(blob_dataset) and np.isfinite(x).all(), name
    if e.dim is not None:
        assert x.shape[1] == e.dim, name
    # deterministic, and a subset of rows equals those rows of the whole
    again = get_embedder(name, blob_dataset).embed(blob_dataset, device="cpu", indices=[9, 2, 40])
    np.testing.assert_allclose(again, x[[9, 2, 40]], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(cached_embeddings(blob_dataset, name), x)


def test_embed_without_embedder_uses_the_dataset_default_and_out_writes_manifest_order(
        blob_dataset, tmp_path, capsys):
    from coldstart.cli import main
    from coldstart.embed import default_embedder
    from coldstart.io import read_json, write_json

    assert default_embedder(blob_dataset)[0] == "pixels"
    assert main(["embed", "blobs", "--out", str(tmp_path / "x.npy")]) == 0
    x = np.load(tmp_path / "x.npy")
    np.testing.assert_array_equal(x, load_embeddings(blob_dataset, "pixels"))
    assert x.shape[0] == len(blob_dataset) and "embedder: pixels" in capsys.readouterr().out
    # a dataset.json may name its own default; `coldstart embedders DATASET` marks it
    own = tmp_path / "own.npy"
    np.save(own, np.arange(len(blob_dataset) * 3, dtype=np.float32).reshape(-1, 3))
    info = read_json(blob_dataset.dir / "dataset.json")
    write_json(blob_dataset.dir / "dataset.json", {**info, "default_embedder": f"file:{own}"})
    from coldstart.data import Dataset

    ds = Dataset("blobs")
    name, why = default_embedder(ds)
    assert name == f"file:{own}" and "dataset.json" in why
    assert main(["embedders", "blobs"]) == 0
    assert f"* default: file:{own}" in capsys.readouterr().out
    assert main(["embed", "blobs", "--out", str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.load(own))
    capsys.readouterr()
    assert main(["embed", "blobs", "-e", "pixels", "--out", str(tmp_path / "x.csv")]) == 2
    assert "must end in .npy" in capsys.readouterr().err


def _square_dataset(root, name: str, size: int, n: int = 12, dtype=np.uint8):
    from coldstart.data import DatasetBuilder

    rng = np.random.default_rng(0)
    b = DatasetBuilder(name, classes=["normal", "pneumothorax"], source="test squares", root=root)
    top = np.iinfo(dtype).max
    for i in range(n):
        b.add(f"img{i:03d}", rng.integers(0, top, (size, size), endpoint=True).astype(dtype), label=i % 2)
    return b.finalize(seed=0)


def test_pixels_follow_the_task_input_size_never_upsampled_and_store_uint8(data_root):
    from coldstart.embed import embedding_chunks, get_embedder

    big = _square_dataset(data_root, "big", 256)
    e = get_embedder("pixels", big)
    assert (e.size, e.dim, e.store_dtype) == (224, 224 * 224, "uint8")  # the paper's 224 px
    x = load_embeddings(big, "pixels")
    assert x.shape == (12, 50176) and x.dtype == np.float32
    direct = InputPixelsEmbedder(big).embed(big)
    assert np.abs(x - direct).max() <= 0.5 / 255 + 1e-7  # resized values rounded to 8 bits, no more
    stored = np.load(big.cache_dir("emb") / f"{e.key}.npy", mmap_mode="r")
    assert stored.dtype == np.uint8 and stored.nbytes == 12 * 50176  # a quarter of float32
    # read in blocks, in any row order, without the whole float32 matrix
    rows = np.array([5, 0, 11, 3, 7])
    got = [(r.copy(), b) for r, b in embedding_chunks(big, "pixels", rows=rows, chunk_rows=2)]
    assert [len(r) for r, _ in got] == [2, 2, 1] and np.concatenate([r for r, _ in got]).tolist() == rows.tolist()
    np.testing.assert_array_equal(np.concatenate([b for _, b in got]), x[rows])
    # PneumoniaMNIST-sized images stay at 28 x 28 = 784
    assert get_embedder("pixels", _square_dataset(data_root, "mnist", 28)).dim == 784
    # the cheap thumbnail is labelled as such
    t = get_embedder("pixels-32", big)
    assert t.dim == 1024 and "not the paper's" in t.summary and "naive baseline" in e.summary
    assert load_embeddings(big, "pixels-32").shape == (12, 1024)


def test_compact_pixels_resume_from_uint8_chunks(data_root, monkeypatch):
    ds = make_blob_dataset("pool", data_root, n=30)
    full = InputPixelsEmbedder(ds).embed(ds)  # native 32 px: never upsampled, exact in uint8
    calls = []
    orig = InputPixelsEmbedder.embed

    def embed(self, dataset, *a, indices=None, **kw):
        if len(calls) >= 2:
            raise KeyboardInterrupt("simulated kill")
        calls.append(list(indices))
        return orig(self, dataset, *a, indices=indices, **kw)

    monkeypatch.setattr(InputPixelsEmbedder, "embed", embed)
    with pytest.raises(KeyboardInterrupt):
        load_embeddings(ds, "pixels", chunk_size=8)
    parts = ds.cache_dir("emb") / "pixels-32-u8-v2.parts"
    assert [np.load(f).dtype for f in sorted(parts.glob("0*.npy"))] == [np.uint8, np.uint8]
    monkeypatch.undo()
    x = load_embeddings(ds, "pixels", chunk_size=8)
    np.testing.assert_array_equal(x, full)
    meta = json.loads((ds.cache_dir("emb") / "pixels-32-u8-v2.json").read_text())
    assert meta["dtype"] == "uint8" and meta["scale"] == 255 and meta["resumed_chunks"] == 2


def test_sixteen_bit_films_keep_their_precision(data_root):
    from coldstart.embed import get_embedder

    ds = _square_dataset(data_root, "deep", 20, dtype=np.uint16)
    e = get_embedder("pixels", ds)
    assert e.store_dtype == "uint16" and e.key.endswith("u16-v2")
    np.testing.assert_allclose(load_embeddings(ds, "pixels"), InputPixelsEmbedder(ds).embed(ds),
                               atol=0.5 / 65535)


def test_a_float32_cache_written_before_compact_storage_is_still_read(blob_dataset, monkeypatch):
    """A float32 thumbnail cache of the former `pixels` (no ``scale`` in its .json) reads as `pixels-32`."""
    from coldstart.io import save_npy, write_json

    old = np.random.default_rng(3).random((60, 1024)).astype(np.float32)
    emb = blob_dataset.cache_dir("emb")
    save_npy(emb / "pixels-32-v1.npy", old)
    write_json(emb / "pixels-32-v1.json", dict(key="pixels-32-v1", name="pixels", dataset="blobs",
                                                manifest_hash=blob_dataset.manifest_hash, shape=[60, 1024],
                                                dtype="float32"))
    monkeypatch.setattr(PixelsEmbedder, "embed", lambda *a, **k: pytest.fail("recomputed an old cache"))
    np.testing.assert_array_equal(load_embeddings(blob_dataset, "pixels-32"), old)
