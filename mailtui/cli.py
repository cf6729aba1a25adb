"""The `mailtui` command: dispatch to a subcommand, turn errors into one line.

Each subcommand lives in its own module (see `COMMANDS`) with
`add_arguments(parser)` and `run(args) -> int`. Only the module of the
command being run is imported, so a headless `mailtui scan` never loads the
lab, the app or Textual (a test checks that).

Bad input is one line on stderr and exit code 2, never a traceback; a bug
of mailtui's own is one line and exit code 3, with the traceback under -v.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from mailtui import __version__
from mailtui.commands import EXIT_ERROR, EXIT_INTERNAL, UsageError

COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("mailtui.commands.scan", "probe endpoints and print the results"),
    "lab": ("mailtui.lab.runner", "run the lab servers and print their endpoints"),
    "demo": ("mailtui.commands.app", "open the app on the embedded lab"),
    "profile": ("mailtui.commands.profile", "list, show, save, edit, delete profiles"),
    "discover": ("mailtui.commands.discover", "find a mail domain's endpoints"),
    "report": ("mailtui.commands.report", "render a saved scan as markdown/html/csv"),
    "history": ("mailtui.commands.history", "list saved scans of each target"),
    "diff": ("mailtui.commands.diff", "what changed between two scans (exit 1: worse)"),
    "settings": ("mailtui.commands.settings", "mail client settings from a scan"),
}
"""Subcommand name -> (module, one-line help)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors end in exit code 2 with one line, as ours do."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv`, found without importing anything."""
    for arg in argv:
        if arg in COMMANDS:
            return arg
        if not arg.startswith("-"):
            return None
    return None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mailtui",
        description="Which of a mail provider's access points are safe to use, "
        "and why. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what is probed to stderr"
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    chosen = _chosen(argv)
    for name, (module, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        if name == chosen:
            importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from mailtui.certs import CaFileError
    from mailtui.history import HistoryError
    from mailtui.targets import TargetError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(name)s: %(message)s",
        )
        if args.command is None:
            from mailtui.commands.app import run_picker

            return run_picker()
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.run(args))
    except (UsageError, TargetError, CaFileError, HistoryError) as exc:
        print(f"mailtui: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mailtui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A bug of ours, not the user's input: one line, and the traceback
        # only for those who asked for details.
        if "-v" in argv or "--verbose" in argv:
            raise
        print(
            f"mailtui: internal error: {type(exc).__name__}: {exc} "
            "(run with -v for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
