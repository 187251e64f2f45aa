"""Import SIIM-ACR Pneumothorax: a DICOM folder + ``train-rle.csv`` run-length masks.

``train-rle.csv`` has ``ImageId`` (the DICOM's SOPInstanceUID, also the file
stem) and ``EncodedPixels``: ``-1`` for no pneumothorax, else SIIM's
*relative* run-length code on the column-major 1024 x 1024 image (each start
is an offset from the end of the previous run). Several rows per image are
united. Splits are grouped by ``patient_id`` (DICOM PatientID) so no patient
is in two splits; images without a CSV row are imported unlabeled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ColdstartError
from ...progress import Progress
from ..builder import DatasetBuilder, safe_id
from ..imageio import MAX_PIXELS
from .common import existing_dir, existing_file, read_into, read_table, scan_files


class RLEError(ValueError):
    """An EncodedPixels string that cannot be decoded (reason in the message)."""


def rle_decode(rle: str, width: int, height: int) -> np.ndarray:
    """Decode SIIM's relative ("cumulative offset") RLE into a bool mask (height, width).

    Same semantics as the competition's ``mask_functions.rle2mask(rle, w, h).T``:
    pairs ``start length``, each start counted from the end of the previous
    run, pixels numbered column by column.

    Raises
    ------
    RLEError
        Odd number of values, non-integers, negative values or runs past the image end.
    """
    toks = str(rle).split()
    if len(toks) % 2:
        raise RLEError(f"odd number of values ({len(toks)}): RLE needs start/length pairs")
    try:
        vals = np.array([int(t) for t in toks], dtype=np.int64)
    except ValueError:
        bad = next(t for t in toks if not t.lstrip("-").isdigit())
        raise RLEError(f"non-integer value {bad!r}") from None
    if (vals < 0).any():
        raise RLEError("negative start or length")
    flat = np.zeros(width * height, dtype=bool)
    pos = 0
    for start, length in zip(vals[0::2], vals[1::2]):
        pos += int(start)
        if pos + int(length) > flat.size:
            raise RLEError(f"run ends at pixel {pos + int(length)}, past the image end ({flat.size})")
        flat[pos:pos + int(length)] = True
        pos += int(length)
    return flat.reshape(width, height).T


def rle_encode(mask: np.ndarray) -> str:
    """Encode a bool mask (H, W) in SIIM's relative column-major RLE (``-1`` if empty)."""
    flat = np.asarray(mask, bool).T.reshape(-1)
    if not flat.any():
        return "-1"
    d = np.diff(np.concatenate([[0], flat.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    out, prev = [], 0
    for s, e in zip(starts, ends):
        out += [int(s - prev), int(e - s)]
        prev = e
    return " ".join(map(str, out))


def import_siim(dicom, rle, name: str, *, seed: int = 0, root=None, progress=None,
                max_pixels: int = MAX_PIXELS):
    """Import SIIM-ACR DICOMs with their RLE masks, split by patient.

    Parameters
    ----------
    dicom : path-like
        Folder with the ``.dcm`` files (searched recursively).
    rle : path-like
        ``train-rle.csv`` with ``ImageId`` and ``EncodedPixels``.
    name : str
        Dataset name.
    seed : int, default 0
        Seed of the patient-grouped stratified 70/10/20 split.
    root, progress, max_pixels
        Data root; None/True/callable progress; decompression-bomb guard.

    Returns
    -------
    Dataset
        ``label`` 0 = normal, 1 = pneumothorax (NA without a CSV row), column ``patient_id``.
    """
    ddir = existing_dir(dicom, "DICOM folder")
    df = read_table(existing_file(rle, "RLE CSV"), "RLE CSV")
    cols = {c.lower().replace("_", ""): c for c in df.columns}
    if "imageid" not in cols or "encodedpixels" not in cols:
        raise ColdstartError(f"RLE CSV {str(rle)!r} needs columns ImageId and EncodedPixels "
                             f"(found {list(df.columns)}): give SIIM's train-rle.csv")
    rows: dict[str, list[tuple[int, str]]] = {}
    for k, (iid, enc) in enumerate(zip(df[cols["imageid"]], df[cols["encodedpixels"]])):
        rows.setdefault(str(iid).strip(), []).append((k + 2, str(enc).strip()))  # +2: header, 1-based
    files, others = scan_files(ddir)
    b = DatasetBuilder(name, classes=["normal", "pneumothorax"], source="SIIM-ACR pneumothorax", root=root,
                       params={"importer": "siim", "dicom": str(ddir), "rle": str(rle), "seed": seed})
    try:
        for o in others:
            b.skip(o, f"not an image file extension ({o.suffix or 'none'}): ignored")
        found: set[str] = set()
        with Progress(progress, len(files), f"import {name}") as bar:
            for p in files:
                bar.update(1)
                arr = read_into(b, p, max_pixels)
                if arr is None:
                    continue
                iid, pid = _ids(p)
                key = iid if iid in rows else (p.stem if p.stem in rows else None)
                label, mask = None, None
                if key is not None:
                    found.add(key)
                    label, mask = _decode_rows(b, p, rows[key], arr.shape)
                b.add(key or iid or p.stem, arr, label=label, mask=mask, source_path=p,
                      patient_id=pid or f"unknown-{safe_id(iid or p.stem)}", image_id=key or iid or p.stem)
        for iid in rows:
            if iid not in found:
                b.skip(f"{rle}#{iid}", f"ImageId {iid} in the RLE CSV has no readable DICOM file under {ddir}")
        return b.finalize(seed=seed, groups_column="patient_id")
    except BaseException:
        b.abort()
        raise


def _ids(p: Path) -> tuple[str | None, str | None]:
    """(SOPInstanceUID, PatientID) from the DICOM header (None when absent)."""
    try:
        import pydicom

        ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
        iid = str(getattr(ds, "SOPInstanceUID", "") or "").strip() or None
        pid = str(getattr(ds, "PatientID", "") or "").strip() or None
        return iid, pid
    except Exception:
        return None, None


def _decode_rows(b, p: Path, entries: list[tuple[int, str]], shape) -> tuple[int, np.ndarray | None]:
    """Union of an image's RLE rows -> (label, mask); bad rows are reported and ignored."""
    h, w = shape
    mask = np.zeros((h, w), bool)
    positive, decoded = False, False
    for line, enc in entries:
        if enc in ("-1", "", " -1"):
            continue
        positive = True
        try:
            mask |= rle_decode(enc, w, h)
            decoded = True
        except RLEError as e:
            b.skip(p, f"RLE on CSV line {line} unusable ({e}): row ignored, image kept", action="converted")
    if not positive:
        return 0, None
    if not decoded:
        b.skip(p, "pneumothorax image without a decodable mask: kept without a mask", action="converted")
        return 1, None
    return 1, mask
