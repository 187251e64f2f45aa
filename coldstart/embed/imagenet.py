"""torchvision DenseNet-121 with ImageNet weights: the generic (non-medical) foundation baseline.

The grayscale image is resized to 224 x 224 (whole image, no crop: a chest
X-ray's lungs reach the borders), replicated to 3 channels and normalised
with the ImageNet mean/std. Two variants, each under its own name and cache key:

- ``imagenet-densenet121`` (the paper's): the global average pool of ``features()``
  **without** the final ReLU, as the authors' "Imagenet-based Clustering" script computes it
  (``nn.AvgPool2d((7, 7))(cls_model.features(images))``; torchvision applies the ReLU only in
  ``forward``);
- ``imagenet-densenet121-relu``: ReLU, then the average pool (torchvision's classifier input).

1024-d. Weights: torchvision's own file
``densenet121-a639ec97.pth`` (a state dict with the old ``norm.1`` key names,
remapped here as torchvision does), loaded with ``weights_only=True``.
"""

from __future__ import annotations

import re

import numpy as np

from .torchrun import TorchEmbedder

MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]

# torchvision.models.densenet._load_state_dict's pattern for the legacy key names
_LEGACY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")


def remap_legacy_keys(state_dict: dict) -> dict:
    """``...denselayer1.norm.1.weight`` -> ``...denselayer1.norm1.weight`` (torchvision's rule)."""
    out = {}
    for k, v in state_dict.items():
        m = _LEGACY.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


class ImagenetDenseNet(TorchEmbedder):
    """The paper's ImageNet DenseNet-121 embedding: average-pooled ``features()``, no final ReLU."""

    name = "imagenet-densenet121"
    weights_id = "torchvision-densenet121-imagenet"
    key = "imagenet-densenet121-a639ec97-224-norelu-v2"
    dim = 1024
    load_size = 224
    default_batch_size = 32
    relu = False
    summary = ("torchvision DenseNet-121 ImageNet-1k, 3-channel replicated, features() avg-pooled without "
               "the final ReLU (the authors' code), 1024-d at 224 px")

    def build_model(self):
        import torch
        import torchvision

        from .weights import require

        path = require(self.weights_id)
        model = torchvision.models.densenet121(weights=None)
        sd = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(remap_legacy_keys(sd))
        return model

    def preprocess(self, img):
        return (np.repeat(img[None].astype(np.float32), 3, axis=0) - MEAN) / STD

    def forward(self, model, x):
        import torch.nn.functional as F

        f = model.features(x)
        if self.relu:
            f = F.relu(f)
        return F.adaptive_avg_pool2d(f, 1).flatten(1)


class ImagenetDenseNetReLU(ImagenetDenseNet):
    """ReLU, then the average pool (torchvision's classifier input); not the paper's variant."""

    name = "imagenet-densenet121-relu"
    key = "imagenet-densenet121-a639ec97-224-v1"  # the cache key this variant always had
    relu = True
    summary = ("torchvision DenseNet-121 ImageNet-1k, ReLU + avg-pooled 1024-d at 224 px (torchvision's "
               "classifier input; the paper's variant is imagenet-densenet121)")
