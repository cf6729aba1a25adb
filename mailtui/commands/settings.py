"""`mailtui settings`: what to type in a mail client, from a scan.

Prints (or writes) the safest working settings for one client, or for all
of them, from a JSON report file, a saved scan id or a target's latest
saved scan. See `mailtui.clients` for how the endpoint is chosen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mailtui.commands import EXIT_OK, UsageError

CLIENT_NAMES = ("thunderbird", "fetchmail", "msmtp", "mbsync", "neomutt", "phone")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Mail client settings from a scan: implicit TLS where it works, "
        "STARTTLS (required) only where the scan proved it, never plaintext. "
        "SCAN is a JSON report file, a saved scan id or a scanned target."
    )
    parser.add_argument("scan", metavar="SCAN")
    parser.add_argument(
        "--client",
        "-c",
        choices=(*CLIENT_NAMES, "all"),
        default="phone",
        help="which client's file to produce (default: %(default)s, a plain "
        "table; thunderbird is an autoconfig XML file)",
    )
    parser.add_argument(
        "--user", metavar="LOGIN", help="the login to fill in (default: a placeholder)"
    )
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE, not stdout"
    )


def run(args: argparse.Namespace) -> int:
    from mailtui.clients import CLIENTS, render_client
    from mailtui.history import resolve
    from mailtui.reports import write_atomically

    if args.user is not None and (
        not args.user or not all(c.isprintable() for c in args.user)
    ):
        # A line break would start a new directive in the client's file
        # (msmtp's passwordeval runs a command).
        raise UsageError(f"--user wants a login on one line: {args.user!r}")
    scan = resolve(args.scan)
    if args.client == "all":
        parts = [
            f"==> {CLIENTS[name][1]} ({name}) <==\n"
            + render_client(scan, name, args.user)
            for name in CLIENT_NAMES
        ]
        text = "\n".join(parts)
    else:
        text = render_client(scan, args.client, args.user)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    return EXIT_OK
