"""The ssl-pool embedder: a SimCLR backbone pre-trained on the dataset's own pool.

A user with no foundation-model weights (and this offline demo) still gets a
learned embedding: :func:`coldstart.embed.ssl_train.pretrain_ssl` saves

* ``<dataset>/models/<model-id>.pt``: the backbone's state dict;
* ``<dataset>/models/<model-id>.json``: the card (data, manifest hash,
  architecture, epochs, loss curve, seconds, versions).

The model is the embedder ``ssl-pool:<model-id>``. Plain ``ssl-pool`` names no
model and is unavailable, with a reason listing the trained ids: a model is
never chosen silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ColdstartError
from ..io import read_json
from .ssl_arch import build_backbone, extract_features
from .torchrun import TorchEmbedder

KIND = "ssl-pool"


def models_dir(dataset) -> Path:
    return dataset.subdir("models")


def list_models(dataset) -> list[dict]:
    """Cards of the dataset's ssl-pool models, newest first."""
    d = dataset.dir / "models"
    if not d.is_dir():
        return []
    cards = []
    for p in d.glob("*.json"):
        try:
            c = read_json(p)
        except (OSError, ValueError):
            continue
        if c.get("kind") == KIND and (d / f"{c.get('model_id')}.pt").is_file():
            cards.append(c)
    return sorted(cards, key=lambda c: (c.get("created", ""), c["model_id"]), reverse=True)


def newest_model(dataset) -> str | None:
    cards = list_models(dataset)
    return cards[0]["model_id"] if cards else None


class SslPoolEmbedder(TorchEmbedder):
    """Backbone of a :func:`pretrain_ssl` model; pooled features of the whole (resized) image.

    Which features is the card's ``features`` setting (see :func:`extract_features`).

    Parameters
    ----------
    model_id : str or None
        A model of ``dataset`` (see :func:`list_models`). None leaves the
        embedder unavailable, with a reason listing the trained ids.
    dataset : Dataset or None
        Where the model lives (``<dataset>/models/``). Without it the embedder
        is listed but unavailable.
    """

    default_batch_size = 64

    def __init__(self, model_id: str | None = None, dataset=None):
        super().__init__()
        self.dataset = dataset
        self.model_id = model_id or None
        self.name = f"ssl-pool:{self.model_id}" if self.model_id else "ssl-pool"
        self.key = f"ssl-pool-{self.model_id}" if self.model_id else "ssl-pool"
        self.card = self._card()
        self.dim = self.card.get("dim") if self.card else None
        self.load_size = int(self.card["input_size"]) if self.card else None
        self.summary = ("SimCLR CNN pre-trained on this dataset's own pool (`coldstart pretrain`), "
                        "no external weights")
        if self.card:
            self.summary = (f"SimCLR {self.card['arch']} at {self.card['input_size']} px, "
                            f"{self.card['epochs']} epochs on {self.card['n_images']} pool images "
                            f"(final loss {self.card['loss_curve'][-1]:.3f})")

    def _paths(self):
        d = self.dataset.dir / "models"
        return d / f"{self.model_id}.pt", d / f"{self.model_id}.json"

    def _card(self):
        if self.dataset is None or not self.model_id:
            return None
        pt, js = self._paths()
        if not (pt.is_file() and js.is_file()):
            return None
        return read_json(js)

    def available(self) -> tuple[bool, str]:
        if self.dataset is None:
            return False, "pre-train on a dataset first: run `coldstart pretrain DATASET`"
        if not self.model_id:
            have = [c["model_id"] for c in list_models(self.dataset)]
            if not have:
                return False, (f"no ssl-pool model for {self.dataset.name!r} yet: run "
                               f"`coldstart pretrain {self.dataset.name}`")
            return False, ("name the model: ssl-pool:MODEL-ID with one of "
                           + ", ".join(f"ssl-pool:{m}" for m in have) + " (newest first)")
        if self.card is None:
            have = [c["model_id"] for c in list_models(self.dataset)]
            return False, (f"ssl-pool model {self.model_id!r} not found in {self.dataset.dir / 'models'}: "
                           + (f"choose one of {have}" if have else f"run `coldstart pretrain {self.dataset.name}`"))
        return True, f"model: {self._paths()[0]}"

    def build_model(self):
        import torch

        ok, reason = self.available()
        if not ok:
            raise ColdstartError(reason)
        m = build_backbone(self.card["arch"])
        m.load_state_dict(torch.load(self._paths()[0], map_location="cpu", weights_only=True))
        return m

    def preprocess(self, img):
        return ((img.astype(np.float32) - self.card["norm_mean"]) / self.card["norm_std"])[None]

    def forward(self, model, x):
        # cards written before the "features" setting existed used the backbone's pooled output
        return extract_features(model, x, self.card.get("features", "final"), self.card["arch"])
