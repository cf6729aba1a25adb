"""One module per `mailtui` subcommand, each with `add_arguments` and `run`.

`mailtui.cli` imports only the module of the command being run, so that
`mailtui scan` never pays for the lab, the app or Textual.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the command line; the message is shown as it is."""


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
"""A bug in mailtui itself; the message asks for -v."""
