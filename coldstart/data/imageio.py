"""Robust reading of user image files (PNG, JPEG, TIFF, BMP, ..., DICOM) into grayscale arrays.

Hospital exports are messy: truncated files, text saved as ``.png``, RGBA or
CMYK scans, 16-bit PNGs, inverted (MONOCHROME1) or windowed DICOM, compressed
DICOM without a decoder, images claiming absurd sizes. :func:`read_image`
turns each into either a ``uint8``/``uint16`` grayscale array plus a list of
conversion notes, or an :class:`ImageReadError` whose message is the reason
an importer records in ``import_report.csv``. It never lets a library
traceback escape and never allocates a decompression bomb.

Examples
--------
>>> arr, notes = read_image("scan.dcm")          # doctest: +SKIP
>>> arr.dtype, notes                             # doctest: +SKIP
(dtype('uint16'), ['DICOM MONOCHROME1 inverted to MONOCHROME2'])
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import ColdstartError

#: Largest image accepted, in pixels (8000 x 8000); larger ones are refused before decoding.
MAX_PIXELS = 64_000_000

#: File extensions treated as images when scanning folders (DICOM files without extension are sniffed).
IMAGE_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".gif", ".webp",
    ".pgm", ".ppm", ".pbm", ".pnm", ".jp2", ".j2k", ".dcm", ".dicom", ".dic",
})
DICOM_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic"})


class ImageReadError(ColdstartError):
    """A file could not be read as an image; the message is the reason (what is wrong, what to do)."""


# ----------------------------------------------------------------------------
def is_dicom(path: str | os.PathLike) -> bool:
    """True when ``path`` has a DICOM extension or the ``DICM`` magic at byte 128."""
    p = Path(path)
    if p.suffix.lower() in DICOM_EXTENSIONS:
        return True
    try:
        with open(p, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def looks_like_image(path: str | os.PathLike) -> bool:
    """True for a file worth trying: an image extension, or a DICOM file without one."""
    p = Path(path)
    if p.name.startswith("."):
        return False
    suf = p.suffix.lower()
    if suf in IMAGE_EXTENSIONS:
        return True
    return suf == "" and is_dicom(p)


def read_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, list[str]]:
    """Read one image file as 2-D grayscale ``uint8`` or ``uint16``.

    Parameters
    ----------
    path : path-like
        Image file (any format Pillow reads, or DICOM).
    max_pixels : int, default MAX_PIXELS
        Refuse images with more pixels than this before decoding them.

    Returns
    -------
    array : ndarray (H, W), uint8 or uint16
        16-bit sources stay 16-bit.
    notes : list of str
        Human-readable conversions applied (alpha dropped, CMYK converted,
        MONOCHROME1 inverted, ...); empty when the file was used as is.

    Raises
    ------
    ImageReadError
        With the reason: missing, empty, not an image, truncated, too large,
        DICOM without pixel data or without a decoder for its compression.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"file not found: {p}")
    size = p.stat().st_size
    if size == 0:
        raise ImageReadError("empty file (0 bytes): re-export or copy the file again")
    if not os.access(p, os.R_OK):
        raise ImageReadError("permission denied: make the file readable (chmod) and import again")
    with warnings.catch_warnings():  # library warnings about broken files: the outcome is the report
        warnings.simplefilter("ignore")
        if is_dicom(p):
            try:
                return _read_dicom(p, max_pixels)
            except _NotDicom:  # named .dcm but not DICOM: maybe a PNG/JPEG, else a clear reason
                arr, notes = _read_pil(p, max_pixels)
                return arr, [f"file named {p.suffix} is not DICOM but an image: read as such"] + notes
        return _read_pil(p, max_pixels)


class _NotDicom(Exception):
    """A file with a DICOM extension but neither the DICM magic nor DICOM content."""


def _has_magic(p: Path) -> bool:
    with open(p, "rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


_DICOM_HINT_TAGS = ("SOPClassUID", "SOPInstanceUID", "Modality", "Rows", "PixelData", "PatientID",
                    "StudyInstanceUID", "SeriesInstanceUID")


# ---------------------------------------------------------------------------- Pillow
def _sniff(p: Path) -> str:
    """Describe what a non-image file seems to be, for the skip reason."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except OSError as e:  # pragma: no cover - races
        return f"unreadable ({e.strerror})"
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html")) or b"<html" in low[:200]:
        return "an HTML page (a failed download?)"
    if low.startswith(b"<?xml") or low.startswith(b"<svg"):
        return "an XML/SVG document"
    if low.startswith(b"%pdf"):
        return "a PDF document"
    if low.startswith((b"pk\x03\x04",)):
        return "a ZIP archive"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "not a recognised image format"


def _read_pil(p: Path, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(p)
        except Image.DecompressionBombError as e:
            raise ImageReadError(_too_large_msg(p, str(e), max_pixels)) from None
        except UnidentifiedImageError:
            raise ImageReadError(
                f"not an image: the file is {_sniff(p)} despite its {p.suffix or 'missing'} extension") from None
        except Exception as e:  # OSError, SyntaxError, ValueError, struct.error... from broken headers
            raise ImageReadError(f"corrupt image header ({type(e).__name__}: {str(e)[:200]}): "
                                 "re-export or copy the file again") from None
        with im:
            w, h = im.size
            if w * h > max_pixels:
                raise ImageReadError(
                    f"image too large: {w}x{h} = {w * h:,} pixels exceeds the limit of {max_pixels:,} "
                    "(decompression-bomb guard): downscale it before importing")
            if getattr(im, "n_frames", 1) > 1:
                notes.append(f"multi-frame file ({im.n_frames} frames): first frame used")
            try:
                im.load()
            except Image.DecompressionBombError as e:
                raise ImageReadError(_too_large_msg(p, str(e), max_pixels)) from None
            except MemoryError:
                raise ImageReadError("not enough memory to decode this image: downscale it") from None
            except Exception as e:  # OSError, SyntaxError, EOFError, struct.error... from broken files
                msg = str(e) or type(e).__name__
                raise ImageReadError(
                    f"truncated or corrupt image data ({msg}): re-export or copy the file again") from None
            try:
                orientation = im.getexif().get(0x0112, 1)
            except Exception:  # a broken EXIF block is not worth skipping the image
                orientation = 1
            if orientation in (2, 3, 4, 5, 6, 7, 8):
                im = ImageOps.exif_transpose(im)
                notes.append(f"EXIF orientation {orientation} applied")
            return _pil_to_gray(im, notes)


def _too_large_msg(p: Path, detail: str, max_pixels: int) -> str:
    import re

    m = re.search(r"\((\d+) pixels\)", detail)
    claim = f"it claims {int(m.group(1)):,} pixels" if m else "it is far too large for Pillow"
    return (f"image too large: {claim}, over the limit of {max_pixels:,} (decompression-bomb guard): "
            "downscale it before importing")


def _pil_to_gray(im, notes: list[str]) -> tuple[np.ndarray, list[str]]:
    mode = im.mode
    if mode == "L":
        return np.asarray(im, dtype=np.uint8).copy(), notes
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16), notes
    if mode == "1":
        notes.append("1-bit image converted to 8-bit grayscale")
        return np.asarray(im.convert("L"), dtype=np.uint8).copy(), notes
    if mode in ("I", "F"):
        a = np.asarray(im).astype(np.float64)
        if not np.isfinite(a).all():
            raise ImageReadError("image contains NaN or infinite values: re-export it as an integer image")
        lo, hi = float(a.min()), float(a.max())
        if mode == "I" and lo >= 0 and hi <= 65535:
            return a.astype(np.uint16), notes
        if mode == "F" and lo >= 0 and hi <= 1:
            notes.append("32-bit float image in [0, 1] stored as 16-bit")
            return np.round(a * 65535).astype(np.uint16), notes
        notes.append(f"{'32-bit integer' if mode == 'I' else '32-bit float'} image rescaled from "
                     f"[{lo:g}, {hi:g}] to 16-bit")
        if hi <= lo:
            return np.zeros(a.shape, np.uint16), notes
        return np.round((a - lo) / (hi - lo) * 65535).astype(np.uint16), notes
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        a = np.asarray(rgba)
        alpha = a[..., 3]
        if alpha.min() < 255:
            # composite over black: transparent regions become background
            rgb = (a[..., :3].astype(np.float32) * (alpha[..., None] / 255.0))
            notes.append(f"{mode} image with transparency composited over black and converted to grayscale")
        else:
            rgb = a[..., :3].astype(np.float32)
            notes.append(f"{mode} image: opaque alpha channel dropped, converted to grayscale")
        return _rgb_to_gray(rgb, notes, announce=False), notes
    if mode == "P":
        notes.append("palette image converted to grayscale")
        return _rgb_to_gray(np.asarray(im.convert("RGB")).astype(np.float32), notes, announce=False), notes
    if mode == "CMYK":
        notes.append("CMYK image converted to RGB, then grayscale")
        return _rgb_to_gray(np.asarray(im.convert("RGB")).astype(np.float32), notes, announce=False), notes
    if mode == "RGB":
        return _rgb_to_gray(np.asarray(im).astype(np.float32), notes), notes
    try:
        rgb = im.convert("RGB")
    except (ValueError, OSError) as e:
        raise ImageReadError(f"unsupported image mode {mode!r} ({e}): save it as PNG") from None
    notes.append(f"{mode} image converted to grayscale")
    return _rgb_to_gray(np.asarray(rgb).astype(np.float32), notes, announce=False), notes


def _rgb_to_gray(rgb: np.ndarray, notes: list[str], announce: bool = True) -> np.ndarray:
    """ITU-R 601 luma; a note only when the channels really differ (a colour image)."""
    if announce and not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
        notes.append("colour image converted to grayscale")
    g = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(g), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- DICOM
def _safe_contains(ds, keyword: str) -> bool:
    try:
        return keyword in ds
    except Exception:
        return False


_DECODER_HINT = ("install a decoder: pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg "
                 "(or python-gdcm / pyjpegls for JPEG-LS), or export the images uncompressed")


def _read_dicom(p: Path, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    try:
        import pydicom
    except ImportError:  # pragma: no cover - pydicom is a dependency
        raise ImageReadError("DICOM file but pydicom is not installed: pip install pydicom") from None
    notes: list[str] = []
    magic = _has_magic(p)
    try:
        ds = pydicom.dcmread(p, force=True)
        if not magic and not any(_safe_contains(ds, k) for k in _DICOM_HINT_TAGS):
            raise _NotDicom
    except _NotDicom:
        raise
    except Exception as e:
        if not magic:
            raise _NotDicom from None
        raise ImageReadError(f"unreadable DICOM ({type(e).__name__}: {str(e)[:200]}): "
                             "re-export the file from the PACS") from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        kind = str(getattr(ds, "Modality", "") or getattr(ds, "SOPClassUID", "") or "").strip()
        raise ImageReadError(
            "DICOM without pixel data" + (f" ({kind})" if kind else "")
            + ": a report/presentation object, not an image; nothing to import")
    rows, cols = int(getattr(ds, "Rows", 0) or 0), int(getattr(ds, "Columns", 0) or 0)
    if rows * cols > max_pixels:
        raise ImageReadError(
            f"image too large: {cols}x{rows} = {rows * cols:,} pixels exceeds the limit of {max_pixels:,} "
            "(decompression-bomb guard): downscale it before importing")
    tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        arr = ds.pixel_array
    except Exception as e:  # pydicom raises RuntimeError/NotImplementedError/ValueError... for many causes
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if tsyntax is not None and tsyntax.is_compressed and (
                "plugin" in msg.lower() or "decoder" in msg.lower() or "missing" in msg.lower()
                or "no pixel data handler" in msg.lower() or isinstance(e, (RuntimeError, NotImplementedError))):
            raise ImageReadError(
                f"DICOM pixel data is compressed ({tsyntax.name}, {tsyntax}) and no installed decoder "
                f"can read it: {_DECODER_HINT}") from None
        raise ImageReadError(f"DICOM pixel data could not be decoded ({type(e).__name__}: {msg})") from None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if frames > 1 and arr.ndim >= 3 and arr.shape[0] == frames:
        arr = arr[0]
        notes.append(f"multi-frame DICOM ({frames} frames): first frame used")
    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if spp > 1 or arr.ndim == 3:
        if photometric.startswith("YBR"):
            try:
                from pydicom.pixels import convert_color_space
                arr = convert_color_space(arr, photometric, "RGB")
            except Exception:
                pass
        notes.append(f"colour DICOM ({photometric}) converted to grayscale")
        a = arr.astype(np.float32)
        if a.max() > 255:
            a = a / a.max() * 255
        return _rgb_to_gray(a[..., :3], notes, announce=False), notes
    if photometric == "PALETTE COLOR":
        try:
            from pydicom.pixels import apply_color_lut
            a = apply_color_lut(arr, ds).astype(np.float32)
            if a.max() > 255:
                a = a / 257.0
            notes.append("PALETTE COLOR DICOM converted to grayscale")
            return _rgb_to_gray(a, notes, announce=False), notes
        except Exception as e:
            raise ImageReadError(f"PALETTE COLOR DICOM could not be converted ({e})") from None
    bits = int(getattr(ds, "BitsStored", 0) or (8 if arr.dtype.itemsize == 1 else 16))
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    a = arr
    try:
        if "ModalityLUTSequence" in ds or ("RescaleSlope" in ds or "RescaleIntercept" in ds):
            a = apply_modality_lut(a, ds)
            if "ModalityLUTSequence" in ds or float(getattr(ds, "RescaleSlope", 1) or 1) != 1 \
                    or float(getattr(ds, "RescaleIntercept", 0) or 0) != 0:
                notes.append("DICOM modality LUT / rescale applied")
        if "VOILUTSequence" in ds or "WindowCenter" in ds:
            a = apply_voi_lut(a, ds, index=0)
            notes.append("DICOM VOI LUT / window applied")
    except Exception as e:
        notes.append(f"DICOM LUT/window could not be applied ({type(e).__name__}); raw values used")
        a = arr
    a = np.asarray(a)
    if not np.isfinite(a.astype(np.float64)).all():
        raise ImageReadError("DICOM pixel data contains NaN or infinite values")
    mono1 = photometric == "MONOCHROME1"
    if mono1:
        notes.append("DICOM MONOCHROME1 inverted to MONOCHROME2")
    raw = a is arr
    if raw and bits <= 8 and arr.dtype.kind == "u" and arr.dtype.itemsize == 1:
        out = arr.astype(np.uint8)
        return (255 - out if mono1 else out), notes
    if raw and arr.dtype.kind == "u" and 8 < bits <= 16:
        # keep the stored values, scaled to the full 16-bit range of BitsStored
        top = float(2 ** bits - 1)
        x = arr.astype(np.float64)
        if mono1:
            x = top - x
        return np.round(np.clip(x / top, 0, 1) * 65535).astype(np.uint16), notes
    x = a.astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        out = np.zeros(x.shape, np.uint16 if bits > 8 else np.uint8)
        return out, notes
    x = (x - lo) / (hi - lo)
    if mono1:
        x = 1.0 - x
    if bits <= 8:
        return np.round(x * 255).astype(np.uint8), notes
    return np.round(x * 65535).astype(np.uint16), notes
