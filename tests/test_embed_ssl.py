"""ssl-pool: SimCLR pre-training on the pool, its model files and card, and the embedder end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from coldstart.embed import get_embedder, list_embedders, load_embeddings, pretrain_ssl
from coldstart.errors import ColdstartError

from conftest import make_blob_dataset


@pytest.fixture
def pool(data_root):
    return make_blob_dataset("pool", data_root, n=44, size=32)  # ~32 train images


def test_without_a_model_ssl_pool_says_run_pretrain(pool):
    ok, reason = get_embedder("ssl-pool", pool).available()
    assert not ok and "coldstart pretrain pool" in reason
    with pytest.raises(ColdstartError, match="coldstart pretrain pool"):
        load_embeddings(pool, "ssl-pool")
    ok, reason = get_embedder("ssl-pool:nope", pool).available()
    assert not ok and "not found" in reason


def test_pretrain_one_epoch_saves_state_dict_and_card_and_embeds(pool):
    mid = pretrain_ssl(pool, epochs=1, seed=3, arch="tiny", input_size=32, batch_size=16)
    d = pool.dir / "models"
    card = json.loads((d / f"{mid}.json").read_text())
    n_train = int((pool.splits == "train").sum())
    assert card["n_images"] == n_train and card["split"] == "train"
    assert card["epochs"] == 1 and len(card["loss_curve"]) == 1 and np.isfinite(card["loss_curve"][0])
    assert card["manifest_hash"] == pool.manifest_hash and card["seconds"] > 0 and "lightly" in card["versions"]
    sd = torch.load(d / f"{mid}.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values())

    e = get_embedder(f"ssl-pool:{mid}", pool)
    assert e.name == f"ssl-pool:{mid}" and e.dim == 128
    x = load_embeddings(pool, f"ssl-pool:{mid}", device="cpu")
    assert x.shape == (len(pool), 128) and x.dtype == np.float32 and np.isfinite(x).all()
    # the loaded backbone is the saved one
    got = get_embedder(f"ssl-pool:{mid}", pool).model("cpu").state_dict()
    for k, v in sd.items():
        assert torch.equal(got[k], v), k
    df = list_embedders(pool).set_index("name")
    assert not bool(df.loc["ssl-pool", "available"]) and f"ssl-pool:{mid}" in df.loc["ssl-pool", "reason"]
    assert bool(df.loc[f"ssl-pool:{mid}", "available"])
    # plain ssl-pool never picks a model silently: the error lists the trained ids
    with pytest.raises(ColdstartError, match=f"ssl-pool:{mid}"):
        load_embeddings(pool, "ssl-pool")


def test_pretrain_is_seeded(pool):
    a = pretrain_ssl(pool, epochs=1, seed=7, arch="tiny", input_size=32, batch_size=16)
    b = pretrain_ssl(pool, epochs=1, seed=7, arch="tiny", input_size=32, batch_size=16)
    assert a != b  # two models, two ids
    ca, cb = (json.loads((pool.dir / "models" / f"{m}.json").read_text()) for m in (a, b))
    assert ca["loss_curve"] == cb["loss_curve"]


def test_pretrain_validates(pool):
    with pytest.raises(ColdstartError, match="preset='tpu'"):
        pretrain_ssl(pool, preset="tpu")
    with pytest.raises(ColdstartError, match="epochs=0"):
        pretrain_ssl(pool, epochs=0)
    with pytest.raises(ColdstartError, match=r"unknown pretrain setting\(s\)"):
        pretrain_ssl(pool, epochs=1, lr_typo=3)
    with pytest.raises(ColdstartError, match="arch='vgg'"):
        pretrain_ssl(pool, epochs=1, arch="vgg")


def test_cli_pretrain_then_embed(pool, capsys):
    from coldstart.cli import main

    assert main(["pretrain", "pool", "--epochs", "1", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    mid = out.split("ssl-pool:")[1].split()[0]
    assert main(["embed", "pool", "--embedder", f"ssl-pool:{mid}", "--device", "cpu"]) == 0
    assert "44 x 1024" in capsys.readouterr().out
    assert main(["embedders", "pool"]) == 0
    assert f"ssl-pool:{mid}" in capsys.readouterr().out


def test_mid_level_features_are_the_pooled_stage_map(pool):
    from coldstart.embed.ssl_arch import build_backbone, extract_features

    mid = pretrain_ssl(pool, epochs=1, seed=0, arch="small", input_size=32, batch_size=16,
                       features="stage3-grid2")
    card = json.loads((pool.dir / "models" / f"{mid}.json").read_text())
    assert card["features"] == "stage3-grid2" and card["dim"] == 128 * 4
    x = load_embeddings(pool, f"ssl-pool:{mid}", device="cpu")
    assert x.shape == (len(pool), 512) and np.isfinite(x).all()
    # the same numbers by hand: stage 3 of the saved backbone, 2x2 average pooling
    m = build_backbone("small")
    m.load_state_dict(torch.load(pool.dir / "models" / f"{mid}.pt", weights_only=True))
    m.eval()
    img = (pool.load_image(0, 32) - card["norm_mean"]) / card["norm_std"]
    with torch.inference_mode():
        h = m[:21](torch.from_numpy(img.astype(np.float32))[None, None])
        ref = torch.nn.functional.adaptive_avg_pool2d(h, 2).flatten(1)[0].numpy()
        assert extract_features(m, torch.from_numpy(img.astype(np.float32))[None, None], "stage3-grid2",
                                "small").shape == (1, 512)
    np.testing.assert_allclose(x[0], ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ColdstartError, match="features='stage9-grid1'"):
        pretrain_ssl(pool, epochs=1, features="stage9-grid1")
    with pytest.raises(ColdstartError, match="needs arch"):
        pretrain_ssl(pool, epochs=1, arch="tiny", features="stage2-grid4")
