"""TorchXRayVision embedders: DenseNet-121 (224 px), ResNet-50 (512 px), ResNet-101 autoencoder.

Preprocessing is torchxrayvision's own: ``xrv.datasets.normalize`` to
[-1024, 1024], ``XRayCenterCrop`` then ``XRayResizer`` (skimage) to the
model's input size. Features: DenseNet ``features2()`` (ReLU + global average
pool, 1024-d); ResNet-50 pooled ``layer4`` (2048-d); autoencoder latent
``encode()`` averaged over space (512-d).

Weights are looked up locally first (see :mod:`coldstart.embed.weights`); the
model objects are built here without ``weights=`` so torchxrayvision never
tries to download. ``import torchxrayvision`` silences all warnings process
wide; :func:`import_xrv` restores the filters afterwards.
"""

from __future__ import annotations

import warnings

import numpy as np

from .torchrun import TorchEmbedder

PREP_VERSION = "v1"


def import_xrv():
    """``import torchxrayvision`` without letting it switch off everyone's warnings."""
    saved = list(warnings.filters)
    try:
        import torchxrayvision as xrv
    finally:
        warnings.filters[:] = saved
        warnings._filters_mutated()
    return xrv


def load_pickled_module_state(path) -> dict:
    """State dict of a file holding a whole pickled model (the official TXRV DenseNet format).

    Tries ``weights_only=True`` with an allow-list made of exactly the classes
    the file names, provided all of them are torch.nn or torchxrayvision model
    classes. Only if the file names anything else is it fully unpickled; this
    function is only ever given files from the user's own weights folders.
    """
    import importlib

    import torch

    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    allowed = ("torch.nn.modules.", "torchxrayvision.models.")
    if all(n.startswith(allowed) for n in names):
        import_xrv()
        classes = []
        for n in names:
            mod, _, attr = n.rpartition(".")
            classes.append(getattr(importlib.import_module(mod), attr))
        with torch.serialization.safe_globals(classes):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    else:  # documented exception: official file from the user's weights folder
        import_xrv()
        obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict):
        return obj
    for mod in obj.modules():  # same patch torchxrayvision applies for old files
        if not hasattr(mod, "_non_persistent_buffers_set"):
            mod._non_persistent_buffers_set = set()
    return obj.state_dict()


def xrv_preprocess(img: np.ndarray, size: int) -> np.ndarray:
    """torchxrayvision's pipeline on a float [0, 1] image -> (1, size, size) in [-1024, 1024]."""
    xrv = import_xrv()
    x = xrv.datasets.normalize(np.clip(img, 0.0, 1.0), 1.0)[None]
    x = xrv.datasets.XRayCenterCrop()(x)
    return xrv.datasets.XRayResizer(size)(x)


class _TxrvBase(TorchEmbedder):
    input_size = 224

    def preprocess(self, img):
        return xrv_preprocess(img, self.input_size)


class TxrvDenseNet(_TxrvBase):
    name = "txrv-densenet121"
    weights_id = "txrv-densenet121-res224-all"
    key = f"txrv-densenet121-res224-all-224-{PREP_VERSION}"
    dim = 1024
    input_size = 224
    default_batch_size = 32
    summary = "TorchXRayVision DenseNet-121 (8 CXR datasets), features2() 1024-d at 224 px"

    def build_model(self):
        from .weights import require

        xrv = import_xrv()
        path = require(self.weights_id)
        model = xrv.models.DenseNet(num_classes=len(xrv.models.model_urls["densenet121-res224-all"]["labels"]))
        model.load_state_dict(load_pickled_module_state(path))
        return model

    def forward(self, model, x):
        return model.features2(x)


class TxrvResNet50(_TxrvBase):
    name = "txrv-resnet50"
    weights_id = "txrv-resnet50-res512-all"
    key = f"txrv-resnet50-res512-all-512-{PREP_VERSION}"
    dim = 2048
    input_size = 512
    default_batch_size = 8
    summary = "TorchXRayVision ResNet-50 (5 CXR datasets), pooled 2048-d at 512 px"

    def build_model(self):
        import torch
        import torchvision

        from .weights import require

        xrv = import_xrv()
        path = require(self.weights_id)
        n = len(xrv.models.model_urls["resnet50-res512-all"]["labels"])
        model = torchvision.models.resnet50(num_classes=n, weights=None)
        model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model

    def forward(self, m, x):
        import torch

        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        return torch.flatten(m.avgpool(x), 1)


class TxrvAutoencoder(_TxrvBase):
    name = "txrv-autoencoder"
    weights_id = "txrv-resnet101-elastic"
    key = f"txrv-autoencoder-resnet101-elastic-224-{PREP_VERSION}"
    dim = 512
    input_size = 224
    default_batch_size = 16
    summary = "TorchXRayVision ResNet-101 autoencoder (elastic), latent averaged 512-d at 224 px"

    def build_model(self):
        import torch

        from .weights import require

        xrv = import_xrv()
        path = require(self.weights_id)
        model = xrv.autoencoders.ResNetAE101()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model

    def forward(self, model, x):
        return model.encode(x, check_resolution=False).mean(dim=(2, 3))
