"""Human-in-the-loop labeling sessions ("teaching mode").

A session walks a person through labeling the training pool of a dataset:

1. the first ``n_coldstart`` images come from a cold-start selector (e.g.
   k-means on foundation-model embeddings, the paper's method);
2. after that, the next image is the one the current model is least sure
   about (uncertainty sampling);
3. every label is saved at once to ``<dataset>/labels/<session>.parquet``
   (atomic rewrite: nothing is lost on reload or crash);
4. after every label a probe (logistic regression on the cached embedding)
   is retrained and scored on the test split (AUPRC), so the session has a
   learning curve; a random-sampling session on the same pool, labeled with
   the ground truth, is replayed automatically as the reference.

Sessions are plain files: reopen with :meth:`LabelSession.open`, list with
:func:`list_sessions`, compare several students with :func:`compare_sessions`.

Modules: ``session`` holds one session's files and flow, ``probe`` the small model refitted after every
label, ``sessions`` listing and comparing many sessions.
"""

from .probe import STRATEGIES, fit_session_probe, learning_curve, probe_scores, score_auprc, uncertainty
from .session import LabelSession, SessionConfig, sessions_dir
from .sessions import compare_sessions, list_sessions

__all__ = ["LabelSession", "SessionConfig", "STRATEGIES", "compare_sessions", "fit_session_probe",
           "learning_curve", "list_sessions", "probe_scores", "score_auprc", "sessions_dir", "uncertainty"]
