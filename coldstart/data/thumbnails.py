"""Thumbnails with mask outlines: pure numpy, no Streamlit (used by every page's gallery)."""

from __future__ import annotations

import numpy as np

OUTLINE_RGB = (255, 64, 64)   # mask outline colour (red reads well on grey X-rays)
HIGHLIGHT_RGB = (31, 111, 235)  # frame colour for highlighted thumbnails (app's primary colour)


def mask_outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean boundary of ``mask`` (pixels inside the mask touching the outside).

    Parameters
    ----------
    mask : bool array (H, W)
    width : int
        Outline thickness in pixels.

    Returns
    -------
    bool array (H, W)
    """
    from scipy import ndimage

    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return np.zeros_like(m)
    inner = ndimage.binary_erosion(m, iterations=max(1, int(width)), border_value=0)
    return m & ~inner


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] grayscale (H, W) -> uint8 RGB (H, W, 3)."""
    g = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    g = np.round(g * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def overlay(image: np.ndarray, mask: np.ndarray | None = None, width: int | None = None,
            fill_alpha: float = 0.0, frame: tuple[int, int, int] | None = None) -> np.ndarray:
    """A thumbnail: grayscale image as RGB with the mask outlined (and optionally tinted).

    Parameters
    ----------
    image : float array (H, W) in [0, 1]
    mask : bool array (H, W) or None
        None (no mask) draws the plain image.
    width : int, optional
        Outline width; default scales with the image (1 px per 64 px).
    fill_alpha : float
        Tint the mask interior with the outline colour at this opacity (0 = outline only).
    frame : RGB tuple, optional
        Draw a 3-px frame of this colour (used to highlight an image).

    Returns
    -------
    uint8 array (H, W, 3)
    """
    rgb = to_rgb(image)
    h, w = rgb.shape[:2]
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != (h, w):
            raise ValueError(f"mask shape {m.shape} does not match image shape {(h, w)}")
        col = np.array(OUTLINE_RGB, np.float32)
        if fill_alpha > 0 and m.any():
            rgb[m] = np.round((1 - fill_alpha) * rgb[m] + fill_alpha * col).astype(np.uint8)
        edge = mask_outline(m, width or max(1, min(h, w) // 64))
        rgb[edge] = np.array(OUTLINE_RGB, np.uint8)
    if frame is not None:
        t = max(2, min(h, w) // 40)
        c = np.array(frame, np.uint8)
        rgb[:t], rgb[-t:], rgb[:, :t], rgb[:, -t:] = c, c, c, c
    return rgb
