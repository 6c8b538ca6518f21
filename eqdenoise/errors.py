"""The one exception type for user-facing problems (bad files, bad checkpoints, bad options)."""


class EqdenoiseError(Exception):
    """A problem the user can fix; the CLI prints its message on one line and exits 1."""
