"""Entry point for ``python -m eqdenoise``."""

from .cli import app

app(prog_name="eqdenoise")
