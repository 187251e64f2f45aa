"""Local-first weights: the REAL loading code reads test-made files saved the way the official ones are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from coldstart.embed import get_embedder, load_embeddings
from coldstart.embed.weights import WEIGHTS

from conftest import make_blob_dataset


@pytest.fixture
def homes(data_root, tmp_path, monkeypatch):
    """Empty library caches (torchxrayvision under $HOME, torch hub under $TORCH_HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    return dict(weights=tmp_path / "weights", txrv=tmp_path / "home" / ".torchxrayvision" / "models_data",
                hub=tmp_path / "torchhome" / "hub" / "checkpoints")


def _put(folder, weights_id, obj):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS[weights_id].filename
    torch.save(obj, path)
    return path


def _assert_same_params(model, saved: dict):
    got = model.state_dict()
    assert set(got) == set(saved)
    for k, v in saved.items():
        assert torch.equal(got[k], v), k


def _xrv():
    from coldstart.embed.txrv import import_xrv

    return import_xrv()


def test_import_xrv_keeps_our_warning_filters():
    before = list(warnings.filters)
    _xrv()
    assert warnings.filters == before
    with pytest.warns(UserWarning):
        warnings.warn("still visible", UserWarning)


@pytest.mark.parametrize("where", ["weights", "txrv"])
def test_txrv_densenet_whole_pickled_model(homes, blob_dataset, where):
    xrv = _xrv()
    torch.manual_seed(1)
    saved_model = xrv.models.DenseNet(num_classes=18)  # random init, saved like the official file
    with torch.no_grad():
        for m in saved_model.modules():  # non-trivial BN statistics, so a mismatch would show
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    saved = {k: v.clone() for k, v in saved_model.state_dict().items()}
    path = _put(homes[where], "txrv-densenet121-res224-all", saved_model)
    e = get_embedder("txrv-densenet121")
    ok, reason = e.available()
    assert ok and str(path) in reason
    model = e.model("cpu")
    _assert_same_params(model, saved)
    # the full pipeline = torchxrayvision's own preprocessing + features2()
    x = e.embed(blob_dataset, device="cpu", indices=[0, 5])
    assert x.shape == (2, 1024) and x.dtype == np.float32
    img = blob_dataset.load_image(5)
    ref = xrv.datasets.XRayResizer(224)(xrv.datasets.XRayCenterCrop()(xrv.datasets.normalize(img, 1.0)[None]))
    assert ref.min() >= -1024 and ref.max() <= 1024
    with torch.inference_mode():
        want = saved_model.eval().features2(torch.from_numpy(ref[None]))
    np.testing.assert_allclose(x[1], want[0].numpy(), rtol=1e-4, atol=1e-5)


def test_txrv_densenet_unexpected_globals_fall_back_to_full_unpickling_locally(homes):
    xrv = _xrv()

    class Wrapped(torch.nn.Module):  # names a class outside torch.nn / torchxrayvision.models
        def __init__(self):
            super().__init__()
            self.net = xrv.models.DenseNet(num_classes=18)

    from coldstart.embed.txrv import load_pickled_module_state

    w = Wrapped()
    import sys
    sys.modules[__name__].Wrapped = Wrapped
    Wrapped.__qualname__ = "Wrapped"
    path = _put(homes["weights"], "txrv-densenet121-res224-all", w)
    sd = load_pickled_module_state(path)
    assert torch.equal(sd["net.classifier.weight"], w.net.classifier.weight)


def test_txrv_resnet50_state_dict(homes, blob_dataset):
    import torchvision

    xrv = _xrv()
    n = len(xrv.models.model_urls["resnet50-res512-all"]["labels"])
    torch.manual_seed(2)
    m = torchvision.models.resnet50(num_classes=n, weights=None)
    m.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    saved = {k: v.clone() for k, v in m.state_dict().items()}
    _put(homes["txrv"], "txrv-resnet50-res512-all", saved)
    e = get_embedder("txrv-resnet50")
    assert e.available()[0]
    _assert_same_params(e.model("cpu"), saved)
    x = e.embed(blob_dataset, device="cpu", indices=[1])
    assert x.shape == (1, 2048) and np.isfinite(x).all()


@pytest.mark.slow
def test_txrv_autoencoder_state_dict(homes, blob_dataset):
    xrv = _xrv()
    torch.manual_seed(3)
    ae = xrv.autoencoders.ResNetAE101()
    saved = {k: v.clone() for k, v in ae.state_dict().items()}
    _put(homes["weights"], "txrv-resnet101-elastic", saved)
    e = get_embedder("txrv-autoencoder")
    _assert_same_params(e.model("cpu"), saved)
    x = e.embed(blob_dataset, device="cpu", indices=[0, 1])
    assert x.shape == (2, 512) and np.isfinite(x).all()


def test_torchvision_densenet_legacy_key_file_in_torch_hub(homes, data_root):
    import re

    import torchvision

    torch.manual_seed(4)
    m = torchvision.models.densenet121(weights=None)
    saved = {k: v.clone() for k, v in m.state_dict().items()}
    # the official (2017) file uses legacy names ("norm.1" for "norm1") and has no BatchNorm
    # num_batches_tracked buffers: write it that way
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v
              for k, v in saved.items() if not k.endswith("num_batches_tracked")}
    assert any(".norm.1." in k for k in legacy)
    path = _put(homes["hub"], "torchvision-densenet121-imagenet", legacy)
    e = get_embedder("imagenet-densenet121")
    ok, reason = e.available()
    assert ok and str(path) in reason
    _assert_same_params(e.model("cpu"), saved)
    ds = make_blob_dataset("few", data_root, n=6)
    x = load_embeddings(ds, "imagenet-densenet121", device="cpu", batch_size=4, chunk_size=4)
    assert x.shape == (6, 1024) and np.isfinite(x).all()
    # the ReLU variant (its own name and cache key) is non-negative; the paper's (no final ReLU) is not
    xr = load_embeddings(ds, "imagenet-densenet121-relu", device="cpu", batch_size=4, chunk_size=4)
    assert xr.shape == (6, 1024) and (xr >= 0).all() and (x < 0).any()


def test_weights_folder_wins_over_library_cache(homes):
    a = _put(homes["weights"], "txrv-resnet101-elastic", {"a": torch.zeros(1)})
    _put(homes["txrv"], "txrv-resnet101-elastic", {"b": torch.zeros(1)})
    assert WEIGHTS["txrv-resnet101-elastic"].find() == a


def test_empty_file_counts_as_missing(homes):
    p = homes["weights"] / WEIGHTS["txrv-resnet101-elastic"].filename
    p.parent.mkdir(parents=True)
    p.write_bytes(b"")
    assert not get_embedder("txrv-autoencoder").available()[0]
