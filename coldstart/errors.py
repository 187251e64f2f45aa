"""The exception types for problems a user can cause and fix, each with a ``kind``.

The kind says what sort of problem it is, so that a page can give advice without reading the
message text: a failed run records it in its ``error`` event (``kind``), and
:func:`coldstart.ui.runs_view.error_advice` looks the advice up by it.
"""

#: kind -> what it means. ``input``: a setting or file the user gave; ``weights``: a model file is
#: missing; ``budget``: budgets do not fit the pool; ``memory``: the process ran out of memory;
#: ``internal``: an unexpected exception (a bug to report).
ERROR_KINDS = {"input": "a setting or input file", "weights": "a missing model (weights) file",
               "budget": "budgets larger than the pool", "memory": "out of memory",
               "internal": "an unexpected error"}


class ColdstartError(Exception):
    """A problem with the user's input, files or settings.

    The message always says what is wrong *and* what to do about it, e.g.
    ``budget=900 is larger than the pool (800 images): choose a budget <= 800``.
    The CLI prints it without a traceback; the app shows it in an error box.
    """

    kind = "input"


class MissingWeightsError(ColdstartError):
    """A model file (weights, an ssl-pool model, an embedding file) the work needs is not there."""

    kind = "weights"


class BudgetError(ColdstartError):
    """A budget (or budgets[0] + rounds x query_size) is larger than the pool."""

    kind = "budget"


def error_kind(exc: BaseException) -> str:
    """The :data:`ERROR_KINDS` key of ``exc``: its ``kind`` for a ColdstartError, ``memory`` for a
    MemoryError, else ``internal``."""
    if isinstance(exc, ColdstartError):
        return exc.kind
    return "memory" if isinstance(exc, MemoryError) else "internal"
