"""`mailtui discover ADDRESS`: find a mail domain's endpoints, say how.

Prints each endpoint with the step that found it (catalog, autoconfig,
ISPDB, SRV, MX, or a guess), and can save the result as a profile or scan
it at once. Exit codes: 0 when something was found, 2 when nothing was or
the network could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, TextIO

from mailtui.commands import EXIT_ERROR, EXIT_OK, UsageError

if TYPE_CHECKING:
    from mailtui.providers.discovery import Discovery


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Find the mail endpoints of an address or domain as mail clients do: "
        "the catalog, autoconfig files and the ISPDB, SRV records (RFC 6186), "
        "then MX records and usual host names (shown as guesses). Only the "
        "domain is used; the address is never sent."
    )
    parser.add_argument("address", metavar="ADDRESS_OR_DOMAIN")
    parser.add_argument(
        "--all",
        action="store_true",
        help="run every step and list every answer, not only the first",
    )
    parser.add_argument(
        "--no-ispdb",
        action="store_true",
        help="do not ask Thunderbird's public ISPDB (which learns the domain)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="limit for each DNS query and web fetch (default: %(default)s)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="also list every step tried"
    )
    parser.add_argument(
        "--save-profile", metavar="NAME", help="save what was found as a profile"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument(
        "--scan", action="store_true", help="scan what was found right away"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from mailtui.providers import ProfileError, save_profile
    from mailtui.providers.discovery import DiscoveryError, discover

    out = out or sys.stdout
    if not 0 < args.timeout <= 60:
        raise UsageError(f"--timeout must be between 0 and 60 seconds: {args.timeout}")
    try:
        result = asyncio.run(
            discover(
                args.address,
                timeout=args.timeout,
                exhaustive=args.all,
                use_ispdb=not args.no_ispdb,
            )
        )
    except DiscoveryError as exc:
        print(f"mailtui: error: {exc}", file=sys.stderr)
        return EXIT_ERROR

    if args.json:
        json.dump(result.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_discovery(result, explain=args.explain or not result.found))
    if not result.found:
        why = " (the domain does not exist in DNS)" if result.domain_missing else ""
        print(f"mailtui: nothing found for {result.domain}{why}", file=sys.stderr)
        return EXIT_ERROR
    if args.save_profile:
        try:
            path = save_profile(result.to_profile(args.save_profile))
        except ProfileError as exc:
            raise UsageError(str(exc)) from None
        print(
            f"mailtui: saved profile {args.save_profile!r} to {path}", file=sys.stderr
        )
    if args.scan:
        return _scan(result, out)
    return EXIT_OK


def render_discovery(result: Discovery, *, explain: bool = False) -> str:
    """The plain-text listing: endpoints with their sources, then the steps."""
    lines: list[str] = []
    if result.found:
        how = result.step or "?"
        lines.append(f"Endpoints for {result.domain} (answered by: {how})")
        width = max(len(f.endpoint.key) for f in result.found)
        for found in result.found:
            mark = "guess " if found.guess else ""
            detail = f" [{found.detail}]" if found.detail else ""
            lines.append(
                f"  {found.endpoint.key:<{width}}  {mark}{found.source}{detail}"
            )
        if result.provider and result.provider.notes:
            lines.append(f"Note ({result.provider.name}): {result.provider.notes}")
    else:
        lines.append(f"No endpoints found for {result.domain}.")
    if explain:
        lines.append("Steps tried:")
        for attempt in result.attempts:
            lines.append(f"  {attempt.step:<10} {attempt.where}: {attempt.outcome}")
    return "\n".join(lines) + "\n"


def _scan(result: Discovery, out: TextIO) -> int:
    from mailtui.commands.scan import exit_code
    from mailtui.probe import ProbeOptions, run_scan
    from mailtui.reports.table import render_table

    scan = asyncio.run(
        run_scan(result.endpoints(), ProbeOptions(), target=result.domain)
    )
    out.write("\n" + render_table(scan.results, colour=False) + "\n")
    return exit_code(scan)
