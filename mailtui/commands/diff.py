"""`mailtui diff`: what changed between two scans, with an exit code for cron.

Exit codes: 0 when nothing got worse, 1 when something did, 2 when a side
cannot be read. Each side is a JSON report file, a saved scan id, or a
target's saved scan (`TARGET` for the latest, `TARGET~N` for older ones);
with one TARGET alone, its last two scans are compared.
"""

from __future__ import annotations

import argparse
import json
import sys

from mailtui.commands import EXIT_FINDINGS, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare two scans and say what changed. OLD and NEW are JSON "
        "report files, saved scan ids, or TARGET / TARGET~N (N scans back). "
        "With one TARGET only, compares its last two saved scans. Exit code "
        "0: nothing got worse; 1: something got worse; 2: a scan is unreadable."
    )
    parser.add_argument("old", metavar="OLD")
    parser.add_argument("new", metavar="NEW", nargs="?")
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")


def run(args: argparse.Namespace) -> int:
    from mailtui.diff import diff_scans, render_diff
    from mailtui.history import resolve

    old_ref, new_ref = args.old, args.new
    if new_ref is None:
        old_ref, new_ref = f"{args.old}~1", f"{args.old}~0"
    old, new = resolve(old_ref), resolve(new_ref)
    result = diff_scans(old, new)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_diff(result))
    return EXIT_FINDINGS if result.worse else EXIT_OK
