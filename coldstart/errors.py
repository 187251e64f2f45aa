"""The one exception type for problems a user can cause and fix."""


class ColdstartError(Exception):
    """A problem with the user's input, files or settings.

    The message always says what is wrong *and* what to do about it, e.g.
    ``budget=900 is larger than the pool (800 images): choose a budget <= 800``.
    The CLI prints it without a traceback; the app shows it in an error box.
    """
