"""Safe loading, safe names, a locked-down server.

Static audit of the source (every ``torch.load`` uses ``weights_only=True``
except the documented exception; no pickle on user files), plus the
behaviour behind it: a weights file carrying a pickle payload is refused with
a clear error and its code never runs; names from the browser cannot leave
the data root; the Streamlit config keeps XSRF protection, localhost, an
upload limit and no usage statistics.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from coldstart.errors import ColdstartError

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "coldstart"
SOURCES = sorted(PKG.rglob("*.py")) + [ROOT / "app.py"] + sorted((ROOT / "pages").glob("*.py"))

#: The one place allowed to unpickle fully: the official torchxrayvision DenseNet files are
#: pickled nn.Module objects. Only reached for files found in the user's own weights folders
#: (coldstart.embed.weights), and only when the allow-listed weights_only load cannot read them.
UNSAFE_LOAD_ALLOWED = {("coldstart/embed/txrv.py", "load_pickled_module_state")}


def _calls(tree):
    """(call node, name of the enclosing function) for every call in ``tree``."""
    out = []

    def visit(node, fn):
        for child in ast.iter_child_nodes(node):
            f = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            if isinstance(child, ast.Call):
                out.append((child, fn))
            visit(child, f)

    visit(tree, "<module>")
    return out


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "?"


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value.value if isinstance(k.value, ast.Constant) else "<expr>"
    return None


def _parsed():
    for p in SOURCES:
        yield p.relative_to(ROOT).as_posix(), ast.parse(p.read_text(), str(p))


def test_every_torch_load_is_weights_only():
    seen, unsafe = [], []
    for rel, tree in _parsed():
        for call, fn in _calls(tree):
            if _dotted(call.func) in ("torch.load", "load") and (
                    _dotted(call.func) == "torch.load" or _kw(call, "weights_only") is not None):
                wo = _kw(call, "weights_only")
                seen.append((rel, fn, wo))
                if wo is not True and (rel, fn) not in UNSAFE_LOAD_ALLOWED:
                    unsafe.append(f"{rel}:{call.lineno} in {fn}(): torch.load(weights_only={wo})")
    assert len(seen) >= 5, seen  # the audit really found the loaders
    assert not unsafe, "torch.load without weights_only=True:\n" + "\n".join(unsafe)
    # the exception is documented where it lives
    src = (PKG / "embed" / "txrv.py").read_text()
    assert "documented exception" in src and "weights folder" in src


def test_the_unsafe_exception_only_reads_the_weights_folders():
    """``load_pickled_module_state`` is only called with a path from ``weights.require`` (local weights folders)."""
    callers = []
    for rel, tree in _parsed():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef):
                calls = [c for c in ast.walk(fn) if isinstance(c, ast.Call)
                         and _dotted(c.func).endswith("load_pickled_module_state")]
                if calls:
                    callers.append((rel, fn.name, ast.unparse(fn)))
    assert callers, "the exception disappeared: update UNSAFE_LOAD_ALLOWED"
    for rel, name, src in callers:
        assert re.search(r"path = require\(self\.weights_id\)", src), (rel, name)
        assert "load_pickled_module_state(path)" in src, (rel, name)
    from coldstart.embed.weights import WEIGHTS, weights_dir

    pickled = [w for w in WEIGHTS.values() if w.fmt == "pickled-module"]
    assert pickled and all(w.folders()[0] == weights_dir() for w in pickled)


def test_no_pickle_on_user_files():
    bad = []
    for rel, tree in _parsed():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                for n in names:
                    if n and n.split(".")[0] in ("pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve"):
                        bad.append(f"{rel}:{node.lineno} imports {n}")
        for call, fn in _calls(tree):
            name = _dotted(call.func)
            if _kw(call, "allow_pickle") not in (None, False):
                bad.append(f"{rel}:{call.lineno} {name}(allow_pickle={_kw(call, 'allow_pickle')})")
            if name.endswith("read_pickle") or name.endswith("pickle.load") or name.endswith("pickle.loads"):
                bad.append(f"{rel}:{call.lineno} {name}")
            if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load"):
                bad.append(f"{rel}:{call.lineno} {name} (use yaml.safe_load)")
            if name in ("eval", "exec"):
                bad.append(f"{rel}:{call.lineno} {name}()")
    # only the torch-pickle exception above may unpickle; pickle.UnpicklingError (an exception type) is fine
    bad = [b for b in bad if not b.startswith("coldstart/embed/torchrun.py") or "imports pickle" not in b]
    assert not bad, "\n".join(bad)


def test_pickled_payload_in_a_weights_file_is_refused_not_run(blob_dataset, tmp_path):
    import torch

    from coldstart.embed import load_embeddings
    from coldstart.embed.weights import WEIGHTS

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    wdir = Path(os.environ["COLDSTART_WEIGHTS"])
    wdir.mkdir(parents=True, exist_ok=True)
    torch.save({"features.conv0.weight": Evil()}, wdir / WEIGHTS["torchvision-densenet121-imagenet"].filename)
    torch.save(Evil(), wdir / WEIGHTS["txrv-resnet50-res512-all"].filename)
    (wdir / WEIGHTS["txrv-resnet101-elastic"].filename).write_bytes(b"PK\x03\x04 torn download")
    for name, fname in (("imagenet-densenet121", "densenet121-a639ec97.pth"),
                        ("txrv-resnet50", "resnet50"), ("txrv-autoencoder", "resnet101")):
        with pytest.raises(ColdstartError, match=rf"weights file .*{fname}.* cannot be loaded safely.*Replace it"):
            load_embeddings(blob_dataset, name)
    assert not marker.exists(), "a pickled payload was executed"
    assert not list(blob_dataset.cache_dir("emb").glob("*.npy"))


def test_npy_with_objects_is_refused(blob_dataset, tmp_path):
    from coldstart.embed import load_embeddings
    from coldstart.io import load_npy

    p = tmp_path / "obj.npy"
    np.save(p, np.array([object()] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        load_npy(p)
    with pytest.raises(ColdstartError, match="not a plain numeric .npy"):
        load_embeddings(blob_dataset, f"file:{p}")


BAD_NAMES = ["..", "../etc", "a/../../b", "/etc/passwd", "a/b", "a\\b", ".hidden", "", " ", "x" * 65,
             "a\x00b", "~root", "name with space", "..%2f..%2fetc", "con:", "ok\n"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_names_from_the_browser_cannot_leave_the_data_root(data_root, bad):
    from coldstart.data import Dataset
    from coldstart.paths import dataset_dir, validate_name
    from coldstart.runs import RunStore
    from coldstart.runs.store import find_run

    for f in (validate_name, dataset_dir, Dataset):
        with pytest.raises(ColdstartError, match="not allowed"):
            f(bad)
    with pytest.raises(ColdstartError, match="not allowed"):
        RunStore("blobs", bad)
    with pytest.raises(ColdstartError, match="not allowed"):
        find_run(bad)
    from coldstart.label import LabelSession

    with pytest.raises(ColdstartError, match="not allowed"):
        LabelSession.open(_StubDataset(data_root), bad, np.zeros((1, 1)))


class _StubDataset:
    name = "stub"

    def __init__(self, root):
        self.root = root

    def subdir(self, kind):
        return self.root / "stub" / kind


def test_good_names_stay_inside(data_root):
    from coldstart.paths import dataset_dir

    for ok in ("phantom", "chestx_det", "my-cxr.v2", "A1"):
        p = dataset_dir(ok)
        assert p.parent == data_root and p.name == ok


def test_pages_take_names_from_lists_not_free_text():
    """Every free-text input that names a dataset/run/session is passed through validate_name."""
    for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((PKG / "ui").glob("*.py"))]:
        src = p.read_text()
        for m in re.finditer(r"(\w+)\s*=\s*\S*text_input\(\s*\"([^\"]*)\"", src):
            var, label = m.groups()
            if re.search(r"name|dataset|run|session", label, re.I) and "Your name" not in label:
                assert f"validate_name({var}" in src, f"{p.name}: text input {label!r} is not validated"


def test_upload_size_is_limited():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 1 <= cfg["server"]["maxUploadSize"] <= 1024  # MB
    assert 1 <= cfg["server"].get("maxMessageSize", 200) <= 1024
    # any file uploader in the app must stay under the server limit (none today: paths are server paths)
    for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((PKG / "ui").glob("*.py"))]:
        for m in re.finditer(r"file_uploader\(", p.read_text()):
            raise AssertionError(f"{p.name} adds a file_uploader: add a test of its size limit here")


def test_server_config_is_locked_down():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"].get("enableCORS", True) is True
    assert cfg["server"]["address"] in ("localhost", "127.0.0.1")
    assert cfg["browser"]["gatherUsageStats"] is False
    # and Streamlit itself reads them that way (catches misspelled keys)
    out = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    for line in ('address = "localhost"', "enableXsrfProtection = true", "gatherUsageStats = false",
                 f"maxUploadSize = {cfg['server']['maxUploadSize']}"):
        assert re.search(rf"^{re.escape(line)}$", out, re.M), line
    # `coldstart app` keeps the config's address unless asked, and the README says how to share safely
    from coldstart.cli import build_parser

    assert build_parser().parse_args(["app"]).address is None  # no --server.address: the config's localhost

    readme = " ".join((ROOT / "README.md").read_text().split()).lower()  # line breaks are not words
    assert "no authentication" in readme and "reverse proxy" in readme
    assert "--address" in readme or "server.address" in readme
