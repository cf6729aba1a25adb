"""`mailtui history`: the targets scanned before, and each one's saved scans."""

from __future__ import annotations

import argparse

from mailtui.commands import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List saved scans: with no TARGET, every target scanned so far; with "
        "a TARGET, its scans, oldest first, with the ids `mailtui diff` and "
        "`mailtui report` take."
    )
    parser.add_argument("target", metavar="TARGET", nargs="?")


def run(args: argparse.Namespace) -> int:
    from mailtui import history
    from mailtui.reports.facts import inert

    scans = history.list_scans(args.target)
    if not scans:
        where = f" of {args.target!r}" if args.target else ""
        print(f"No saved scans{where} in {history.history_dir()}.")
        return EXIT_OK
    if args.target is None:
        by_target: dict[str, list[history.SavedScan]] = {}
        for entry in scans:
            by_target.setdefault(entry.target, []).append(entry)
        for target, entries in sorted(by_target.items()):
            count = f"{len(entries)} scan{'s' if len(entries) > 1 else ''}"
            print(f"{inert(target)}  ({count}, latest {entries[-1].started_at})")
        return EXIT_OK
    for back, entry in enumerate(reversed(scans)):
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(entry.verdicts.items()))
        print(f"{entry.id}  ~{back:<3} {entry.started_at}  {verdicts}")
    return EXIT_OK
