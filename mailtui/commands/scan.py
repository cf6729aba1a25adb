"""`mailtui scan`: probe endpoints and print a table or JSON, for scripts.

Exit codes: 0 when no endpoint has a critical finding, 1 when one has, 2
when the input was invalid or nothing could be scanned. This path must not
import Textual; `--tui` hands over to the app instead of printing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from mailtui.commands import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from mailtui.model import Endpoint, Scan, Severity, State
from mailtui.probe import ProbeOptions

DEFAULTS = ProbeOptions()
"""What an option is when neither the command line nor a profile sets it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Probe mail endpoints: a bare HOST means its seven standard "
        "endpoints; SERVICE://HOST[:PORT] names one (services: smtp, "
        "submission, submissions, pop3, pop3s, imap, imaps, sieve); a "
        "NAME is a saved profile or a catalog provider (mailtui profile list)."
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET")
    add_target_options(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the scan as JSON")
    output.add_argument(
        "--tui", action="store_true", help="open the app on these targets"
    )
    output.add_argument(
        "--format",
        choices=("table", "json", "markdown", "html", "csv"),
        help="report format (default: table, or what --output's name implies)",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the report to FILE (atomically) and print the table",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="do not keep this scan in the history"
    )
    parser.add_argument(
        "--save-profile",
        metavar="NAME",
        help="also save these targets and options as the profile NAME",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print the table only"
    )


def run(args: argparse.Namespace) -> int:
    return run_scan_command(args)


def add_target_options(parser: argparse.ArgumentParser) -> None:
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
        default=None,
        help="probe every address a name resolves to, not only the first",
    )
    parser.add_argument(
        "--ehlo",
        metavar="NAME",
        help=f"the name given in SMTP EHLO (default: {DEFAULTS.client_name})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="limit for each stage: connect, each reply, handshake "
        f"(default: {DEFAULTS.timeout:g})",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help=f"limit for a whole endpoint (default: {DEFAULTS.deadline:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULTS.concurrency,
        metavar="N",
        help="endpoints probed at once (default: %(default)s)",
    )
    parser.add_argument(
        "--sweep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also ask which TLS versions and weak TLS 1.2 suites each endpoint "
        "accepts: about five more connections each (default: on)",
    )
    parser.add_argument(
        "--per-host",
        type=int,
        default=DEFAULTS.per_host,
        metavar="N",
        help="endpoints probed at once on one address (default: %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> ProbeOptions:
    """`ProbeOptions` from parsed arguments, checking what argparse cannot."""
    from mailtui import certs
    from mailtui.targets import parse_resolve

    for name in ("timeout", "deadline"):
        value = getattr(args, name)
        if value is not None and not 0 < value <= 3600:
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
    from mailtui.providers import named_options

    # Defaults, then what a saved profile named among the targets sets, then
    # what this command line says: the user's latest word wins.
    base = ProbeOptions(
        concurrency=args.concurrency,
        per_host=args.per_host,
        sweep=getattr(args, "sweep", True),
    )
    options = named_options(args.targets, base)
    given: dict[str, Any] = {
        "timeout": args.timeout,
        "deadline": args.deadline,
        "client_name": None if args.ehlo is None else _check_ehlo(args.ehlo),
        "ca_file": ca_file,
        "all_addresses": args.all_addresses,
    }
    return replace(
        options,
        resolve={**options.resolve, **resolve},
        **{name: value for name, value in given.items() if value is not None},
    )


def _check_ehlo(name: str) -> str:
    if not name or any(c.isspace() or not c.isprintable() for c in name):
        raise UsageError(f"--ehlo wants a host name without spaces: {name!r}")
    return name


def endpoints_from_args(
    args: argparse.Namespace, resolve: dict[str, str]
) -> list[Endpoint]:
    from mailtui.providers import named_endpoints
    from mailtui.targets import parse_targets, pin

    # Names of profiles and catalog providers expand to their endpoints.
    endpoints, rest = named_endpoints(args.targets)
    if rest or not endpoints or any((args.smtp, args.imap, args.pop, args.sieve)):
        endpoints += parse_targets(
            rest, smtp=args.smtp, imap=args.imap, pop=args.pop, sieve=args.sieve
        )
    return pin(list(dict.fromkeys(endpoints)), resolve)


def target_name(args: argparse.Namespace, endpoints: list[Endpoint]) -> str:
    """What the scan is of, as the history files it: a name when there is
    one (a profile being saved, a profile, a provider), else the hosts."""
    if getattr(args, "save_profile", None):
        return str(args.save_profile)
    named = [*args.targets, args.smtp, args.imap, args.pop, args.sieve]
    if named and all(n is None or "://" not in n for n in named):
        return " ".join(n for n in named if n)
    return " ".join(dict.fromkeys(ep.host for ep in endpoints))


def run_scan_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from mailtui.probe import ProbeFinished, run_scan

    out = out or sys.stdout
    options = options_from_args(args)
    endpoints = endpoints_from_args(args, options.resolve)
    target = target_name(args, endpoints)
    if getattr(args, "save_profile", None):
        from mailtui.commands.profile import save_from_scan

        save_from_scan(args.save_profile, endpoints, options)
    if args.tui:
        from mailtui.tui.app import run_app

        return run_app(endpoints, options, target=target)

    progress = _Progress(len(endpoints), enabled=sys.stderr.isatty() and not args.json)

    def on_event(event: object) -> None:
        if isinstance(event, ProbeFinished):
            progress.step()

    scan = asyncio.run(run_scan(endpoints, options, on_event, target=target))
    progress.clear()
    if not args.no_save:
        _save(scan)
    if args.output is not None or args.format not in (None, "table"):
        _write_report(scan, args, out)
        if args.output is None:
            return exit_code(scan)
    _print_scan(scan, args, out)
    return exit_code(scan)


def _save(scan: Scan) -> None:
    """Keep the scan in the history; failing to is worth a warning only."""
    from mailtui import history

    try:
        history.save(scan)
    except OSError as exc:
        print(f"mailtui: warning: scan not saved to history: {exc}", file=sys.stderr)


def _write_report(scan: Scan, args: argparse.Namespace, out: TextIO) -> None:
    from mailtui.reports import format_for, render, write_report

    fmt = args.format or ("json" if args.json else None)
    if args.output is None:
        out.write(render(scan, fmt or "table"))
        return
    fmt = fmt or format_for(args.output) or "table"
    try:
        write_report(scan, fmt, args.output)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc


def _print_scan(scan: Scan, args: argparse.Namespace, out: TextIO) -> None:
    from mailtui.reports.table import render_findings, render_table

    if args.json and args.output is None:
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
