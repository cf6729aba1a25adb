"""`mailtui` with no command, and `mailtui demo`: open the Textual app."""

from __future__ import annotations

import argparse

from mailtui.probe import ProbeOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="delay everything the lab servers send (milliseconds, each way)",
    )


def run(args: argparse.Namespace) -> int:
    from mailtui.tui.app import run_app

    options = ProbeOptions(timeout=3.0, deadline=15.0, sweep=True)
    return run_app(None, options, demo=True, latency=args.latency / 1000)


def run_picker() -> int:
    from mailtui.tui.app import run_app

    return run_app(None, ProbeOptions(sweep=True))
