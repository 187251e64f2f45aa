"""Progress reporting shared by the CLI (tqdm) and the app (a callback to st.progress).

Long functions take ``progress``: None (silent), True (a tqdm bar), or a
callable ``progress(done, total, message)``.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[int, int, str], None]


class Progress:
    """A tiny adapter: ``with Progress(progress, total, "embedding") as p: p.update(n)``."""

    def __init__(self, progress: bool | ProgressFn | None, total: int, desc: str = "", unit: str = "img"):
        self.total = int(total)
        self.desc = desc
        self.done = 0
        self._cb: Optional[ProgressFn] = None
        self._bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=desc, unit=unit, leave=False)
        elif callable(progress):
            self._cb = progress

    def update(self, n: int = 1, message: str | None = None) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        if self._cb is not None:
            self._cb(min(self.done, self.total), self.total, message or self.desc)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
