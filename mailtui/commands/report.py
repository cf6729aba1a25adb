"""`mailtui report`: render a saved scan or a JSON report again, in any format.

The scan is named as everywhere else: a JSON report file, a saved scan id,
or a target (its latest scan, or `TARGET~N` for an older one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mailtui.commands import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Render a scan again: SCAN is a JSON report file, a saved scan id, "
        "or a target (its latest saved scan; TARGET~1 for the one before)."
    )
    parser.add_argument("scan", metavar="SCAN")
    parser.add_argument(
        "--format",
        "-f",
        choices=("table", "json", "markdown", "html", "csv"),
        help="report format (default: what --output's name implies, or markdown)",
    )
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE, not stdout"
    )


def run(args: argparse.Namespace) -> int:
    from mailtui.history import resolve
    from mailtui.reports import format_for, render, write_atomically

    scan = resolve(args.scan)
    fmt = args.format or (format_for(args.output) if args.output else None)
    text = render(scan, fmt or "markdown")
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    return EXIT_OK
