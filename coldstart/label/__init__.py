"""Human-in-the-loop labeling sessions ("teaching mode").

A session walks a person through labeling the training pool of a dataset:

1. the first ``n_coldstart`` images come from a cold-start selector (e.g.
   ``kmeans`` on foundation-model embeddings, a fast approximation of the paper's protocol;
   ``kmeans-paper`` is the paper's own);
2. after that, the next image is the one the current model is least sure
   about (uncertainty sampling);
3. every label is saved at once, one transaction each, in the data root's SQLite store
   (:mod:`coldstart.classroom.store`; nothing acknowledged is lost on reload or crash);
4. after every label a probe (logistic regression on the cached embedding)
   is retrained and scored on the test split (AP), so the session has a
   learning curve; a random-sampling session on the same pool, labeled with
   the ground truth, is replayed automatically as the reference.

Reopen a session with :meth:`LabelSession.open`, list with :func:`list_sessions`, compare several
students with :func:`compare_sessions`; a whole class labelling at once is :mod:`coldstart.classroom`.

Modules: ``session`` holds one session's flow, ``probe`` the small model refitted after every
label, ``sessions`` listing and comparing many sessions, ``legacy`` the import of session files of
the old format.
"""

from .probe import SESSION_STRATEGIES, fit_session_probe, learning_curve, probe_scores, score_ap, uncertainty
from .session import LabelSession, SessionConfig, sessions_dir
from .sessions import compare_sessions, list_sessions

__all__ = ["LabelSession", "SESSION_STRATEGIES", "SessionConfig", "compare_sessions", "fit_session_probe",
           "learning_curve", "list_sessions", "probe_scores", "score_ap", "sessions_dir", "uncertainty"]
