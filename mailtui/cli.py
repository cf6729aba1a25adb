"""The `mailtui` command: the app, the headless scan, the lab and the demo.

The headless paths (`scan`, `lab`) must not import Textual: scripts and cron
jobs should not pay for the UI, and a test checks that they do not. The app
is imported inside the functions that open it.

Exit codes of `mailtui scan`: 0 when no endpoint has a critical finding,
1 when one has, 2 when the input was invalid or nothing could be scanned.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mailtui import __version__
from mailtui.model import Endpoint, Scan, Severity, State

if TYPE_CHECKING:
    from mailtui.probe import ProbeOptions

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """Bad input from the command line; the message is shown as it is."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors end in exit code 2 with one line, as ours do."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mailtui",
        description="Which of a mail provider's access points are safe to use.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what is probed to stderr"
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    scan = commands.add_parser(
        "scan",
        help="probe endpoints and print the results (no UI)",
        description="Probe mail endpoints: a bare HOST means its seven standard "
        "endpoints; SERVICE://HOST[:PORT] names one (services: smtp, "
        "submission, submissions, pop3, pop3s, imap, imaps, sieve).",
    )
    scan.add_argument("targets", nargs="*", metavar="TARGET")
    _add_target_options(scan)
    output = scan.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the scan as JSON")
    output.add_argument(
        "--tui", action="store_true", help="open the app on these targets"
    )
    scan.add_argument("--quiet", "-q", action="store_true", help="print the table only")

    lab = commands.add_parser(
        "lab",
        help="run the embedded lab servers on loopback and print their endpoints",
    )
    from mailtui.lab import runner

    runner.add_arguments(lab)

    demo = commands.add_parser("demo", help="open the app on the embedded lab")
    demo.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="delay everything the lab servers send (milliseconds)",
    )
    return parser


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    for flag, what in (
        ("--smtp", "SMTP (25, 465, 587)"),
        ("--imap", "IMAP (143, 993)"),
        ("--pop", "POP3 (110, 995)"),
        ("--sieve", "ManageSieve (4190)"),
    ):
        parser.add_argument(flag, metavar="HOST", help=f"host for {what}")
    parser.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:ADDRESS",
        help="connect to ADDRESS for HOST (SNI and name checks keep HOST)",
    )
    parser.add_argument(
        "--ca-file", type=Path, metavar="PEM", help="extra trusted CA certificates"
    )
    parser.add_argument(
        "--all-addresses",
        action="store_true",
        help="probe every address a name resolves to, not only the first",
    )
    parser.add_argument(
        "--ehlo",
        default="mailtui.localhost",
        metavar="NAME",
        help="the name given in SMTP EHLO (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="limit for each stage: connect, each reply, handshake "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="limit for a whole endpoint (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        metavar="N",
        help="endpoints probed at once (default: %(default)s)",
    )
    parser.add_argument(
        "--per-host",
        type=int,
        default=8,
        metavar="N",
        help="endpoints probed at once on one address (default: %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> ProbeOptions:
    """`ProbeOptions` from parsed arguments, checking what argparse cannot."""
    from mailtui import certs
    from mailtui.probe import ProbeOptions
    from mailtui.targets import parse_resolve

    for name in ("timeout", "deadline"):
        value = getattr(args, name)
        if not 0 < value <= 3600:
            raise UsageError(f"--{name} must be between 0 and 3600 seconds: {value}")
    for name in ("concurrency", "per_host"):
        value = getattr(args, name)
        if not 1 <= value <= 10_000:
            flag = name.replace("_", "-")
            raise UsageError(f"--{flag} must be between 1 and 10000: {value}")
    ca_file = None
    if args.ca_file is not None:
        ca_file = args.ca_file.expanduser().resolve()
        certs.load_ca_file(ca_file)  # raises CaFileError with a clear message
    resolve = dict(parse_resolve(spec) for spec in args.resolve)
    return ProbeOptions(
        timeout=args.timeout,
        deadline=args.deadline,
        concurrency=args.concurrency,
        per_host=args.per_host,
        client_name=_check_ehlo(args.ehlo),
        ca_file=ca_file,
        resolve=resolve,
        all_addresses=args.all_addresses,
    )


def _check_ehlo(name: str) -> str:
    if not name or any(c.isspace() or not c.isprintable() for c in name):
        raise UsageError(f"--ehlo wants a host name without spaces: {name!r}")
    return name


def endpoints_from_args(
    args: argparse.Namespace, resolve: dict[str, str]
) -> list[Endpoint]:
    from mailtui.targets import parse_targets, pin

    endpoints = parse_targets(
        args.targets, smtp=args.smtp, imap=args.imap, pop=args.pop, sieve=args.sieve
    )
    return pin(endpoints, resolve)


def target_name(args: argparse.Namespace, endpoints: list[Endpoint]) -> str:
    named = [*args.targets, args.smtp, args.imap, args.pop, args.sieve]
    return " ".join(n for n in named if n) or endpoints[0].host


def run_scan_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from mailtui.probe import ProbeFinished, run_scan

    out = out or sys.stdout
    options = options_from_args(args)
    endpoints = endpoints_from_args(args, options.resolve)
    target = target_name(args, endpoints)
    if args.tui:
        from mailtui.tui.app import run_app

        return run_app(endpoints, options, target=target)

    progress = _Progress(len(endpoints), enabled=sys.stderr.isatty() and not args.json)

    def on_event(event: object) -> None:
        if isinstance(event, ProbeFinished):
            progress.step()

    scan = asyncio.run(run_scan(endpoints, options, on_event, target=target))
    progress.clear()
    _print_scan(scan, args, out)
    return exit_code(scan)


def _print_scan(scan: Scan, args: argparse.Namespace, out: TextIO) -> None:
    from mailtui.reports.table import render_findings, render_table

    if args.json:
        json.dump(scan.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    colour = out.isatty() and "NO_COLOR" not in os.environ
    out.write(render_table(scan.results, colour=colour) + "\n")
    if not args.quiet:
        findings = render_findings(scan.results, minimum=Severity.WARNING)
        if findings:
            out.write("\n" + findings + "\n")


def exit_code(scan: Scan) -> int:
    if not any(r.state is State.OPEN for r in scan.results):
        reasons = sorted({r.error or str(r.state) for r in scan.results})
        print(
            "mailtui: nothing could be scanned: " + "; ".join(reasons)[:300],
            file=sys.stderr,
        )
        return EXIT_ERROR
    critical = any(
        f.severity is Severity.CRITICAL for r in scan.results for f in r.findings
    )
    return EXIT_FINDINGS if critical else EXIT_OK


class _Progress:
    """A one-line counter on stderr while a headless scan runs."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            sys.stderr.write(f"\rprobed {self.done}/{self.total} endpoints")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run_app_command(args: argparse.Namespace) -> int:
    from mailtui.probe import ProbeOptions
    from mailtui.tui.app import run_app

    if args.command == "demo":
        options = ProbeOptions(timeout=3.0, deadline=15.0)
        return run_app(None, options, demo=True, latency=args.latency / 1000)
    return run_app(None, ProbeOptions())


def main(argv: Sequence[str] | None = None) -> int:
    from mailtui.certs import CaFileError
    from mailtui.targets import TargetError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(name)s: %(message)s",
        )
        if args.command == "scan":
            return run_scan_command(args)
        if args.command == "lab":
            from mailtui.lab import runner

            return runner.run(args)
        return run_app_command(args)
    except (UsageError, TargetError, CaFileError) as exc:
        print(f"mailtui: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mailtui: interrupted", file=sys.stderr)
        return 130
