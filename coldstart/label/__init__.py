"""Human-in-the-loop labeling sessions ("teaching mode"): see :mod:`coldstart.label.session`.

``session`` holds one session's files and flow, ``probe`` the small model refitted after every
label, ``sessions`` listing and comparing many sessions.
"""

from .probe import STRATEGIES, fit_probe, learning_curve, probe_scores, score_auprc, uncertainty
from .session import LabelSession, SessionConfig, sessions_dir
from .sessions import compare_sessions, list_sessions

__all__ = ["LabelSession", "SessionConfig", "STRATEGIES", "compare_sessions", "fit_probe", "learning_curve",
           "list_sessions", "probe_scores", "score_auprc", "sessions_dir", "uncertainty"]
