"""The one exception type for user-facing problems (bad files, bad checkpoints, bad options)."""


class EqdenoiseError(Exception):
    """A problem the user can fix; the CLI prints its message on one line and exits 1."""


class UsageError(EqdenoiseError):
    """An option value out of its range or an impossible combination of options: the CLI exits 2, before any file."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line (or its type's name when it has no message), trimmed for a one-line error."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
