"""`python -m carewatch.cli`: the `carewatch` command."""

from carewatch.cli import app

app(prog_name="carewatch")
