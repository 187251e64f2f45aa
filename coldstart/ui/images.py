"""Old home of :mod:`coldstart.data.thumbnails` (ui/common still imports it from here)."""

from ..data.thumbnails import HIGHLIGHT_RGB, OUTLINE_RGB, mask_outline, overlay, to_rgb  # noqa: F401
