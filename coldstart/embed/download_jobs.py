"""Weight downloads that outlive a page rerun: one background thread per weights file.

A page click calls :func:`start`; the thread runs :func:`coldstart.embed.weights.download`
(the one network path, with its file lock and checks) and records progress in a
:class:`Job` that any later rerun, or another browser session of the same server,
reads with :func:`get`. A second :func:`start` of the same file while one runs returns
the running job; two server processes are kept apart by the download's file lock.
Nothing here touches Streamlit (background threads must not).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ColdstartError


@dataclass
class Job:
    """State of one download: ``running`` -> ``done`` (``path``) or ``failed`` (``error``)."""

    weights_id: str
    state: str = "running"
    done: int = 0
    total: int = 0
    error: str | None = None
    path: Path | None = None
    started: float = field(default_factory=time.time)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def _progress(self, done: int, total: int, message: str = "") -> None:
        self.done, self.total = int(done), int(total)

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the download ends (tests and scripts)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self


_JOBS: dict[str, Job] = {}
_LOCK = threading.Lock()


def start(weights_id: str, timeout: float = 30.0) -> Job:
    """Start downloading ``weights_id`` in a background thread, or return the one already running."""
    from .weights import get_weights

    get_weights(weights_id)  # unknown ids fail here, in the caller
    with _LOCK:
        job = _JOBS.get(weights_id)
        if job is not None and job.state == "running":
            return job
        job = Job(weights_id)
        job.thread = threading.Thread(target=_run, args=(job, timeout), daemon=True,
                                      name=f"coldstart-download-{weights_id}")
        _JOBS[weights_id] = job
        job.thread.start()
    return job


def _run(job: Job, timeout: float) -> None:
    from .weights import download

    try:
        job.path = download(job.weights_id, progress=job._progress, timeout=timeout)
        job.state = "done"
    except ColdstartError as e:
        job.error, job.state = str(e), "failed"
    except Exception as e:  # a bug must still end the job visibly, never leave it "running"
        job.error, job.state = f"{type(e).__name__}: {e}", "failed"


def get(weights_id: str) -> Job | None:
    """The latest download job of ``weights_id`` in this process, or None."""
    return _JOBS.get(weights_id)


def forget(weights_id: str) -> None:
    """Drop a finished job (after the page has shown its outcome)."""
    with _LOCK:
        job = _JOBS.get(weights_id)
        if job is not None and job.state != "running":
            del _JOBS[weights_id]
