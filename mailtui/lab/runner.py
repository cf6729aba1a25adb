"""`mailtui lab`: run the simulated providers until interrupted.

For a person, it prints each endpoint with what it imitates and commands
to paste (a `mailtui scan` per profile, an `openssl s_client` per
endpoint), so the lab can be explored with or without mailtui. For a
script (the benchmarks), `--json` prints one JSON object on one line and
keeps serving until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shlex
import signal
import sys
from typing import TextIO

from mailtui.lab import ALL_PROFILES, LAB_ADDRESS, PROFILES, Lab
from mailtui.model import Endpoint, Protocol, Security

# `openssl s_client -starttls` spells the protocols its own way.
_OPENSSL_STARTTLS = {
    Protocol.SMTP: "smtp",
    Protocol.POP3: "pop3",
    Protocol.IMAP: "imap",
    Protocol.SIEVE: "sieve",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `mailtui lab` on `parser`."""
    parser.add_argument(
        "--profile",
        action="append",
        choices=list(ALL_PROFILES),
        metavar="NAME",
        help=f"profile to serve, repeatable (any of {', '.join(ALL_PROFILES)}); "
        f"default {', '.join(PROFILES)}",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="imitated network delay in milliseconds, each way (default 0)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the CA file and endpoints as one JSON object, then serve",
    )


def run(args: argparse.Namespace) -> int:
    """Serve the lab until Ctrl-C or SIGTERM; returns the exit status."""
    if args.latency < 0:
        print("mailtui lab: --latency cannot be negative", file=sys.stderr)
        return 2
    lab = Lab(args.profile, latency=args.latency / 1000, stable_ports=True)
    logging.getLogger("asyncio").addFilter(_quiet_starttls_eof)
    try:
        return asyncio.run(_serve(lab, as_json=args.json))
    except KeyboardInterrupt:
        # Only reached where signal handlers cannot be installed.
        return 0


def _quiet_starttls_eof(record: logging.LogRecord) -> bool:
    # Python 3.11's StreamReaderProtocol does not learn that start_tls()
    # put it over TLS, so every client that hangs up after STARTTLS makes
    # asyncio warn "returning true from eof_received() has no effect when
    # using ssl". The lab's servers upgrade on purpose; the warning is noise.
    return "eof_received" not in record.getMessage()


async def _serve(lab: Lab, *, as_json: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await lab.start()
    except OSError as exc:
        print(f"mailtui lab: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        if as_json:
            print(json.dumps(lab_document(lab)), flush=True)
        else:
            print_listing(lab, sys.stdout)
        await stop.wait()
    finally:
        await lab.stop()
    return 0


def lab_document(lab: Lab) -> dict[str, object]:
    """The running lab as `--json` prints it."""
    return {
        "simulated": True,
        "ca_file": str(lab.ca_file),
        "latency_ms": round(lab.latency * 1000, 3),
        "endpoints": [
            {
                "key": e.key,
                "url": _url(e),
                "service": e.service,
                "protocol": str(e.protocol),
                "security": str(e.security),
                "host": e.host,
                "port": e.port,
                "address": e.address,
                "profile": lab.profile_of(e).name,
                "label": e.label,
                "title": lab.title(e),
                "description": lab.describe(e),
            }
            for e in lab.endpoints
        ],
    }


def print_listing(lab: Lab, out: TextIO) -> None:
    """The readable list of endpoints, the CA file and commands to try."""
    ca = shlex.quote(str(lab.ca_file))
    write = out.write
    write(f"mailtui lab: simulated mail servers on {LAB_ADDRESS}")
    write(" (not real providers)\n")
    if lab.latency:
        write(f"Imitated latency: {lab.latency * 1000:g} ms each way\n")
    for profile in lab.profiles:
        endpoints = [e for e in lab.endpoints if lab.profile_of(e) is profile]
        write(f"\n{profile.name}: {profile.description}\n")
        for e in endpoints:
            write(f"  {_url(e):<52} {lab.title(e)}\n")
            write(f"      {openssl_command(e, ca)}\n")
        write(f"  scan: {scan_command(endpoints, ca)}\n")
    write(f"\nCA file: {lab.ca_file}\n")
    write("Serving until Ctrl-C.\n")
    out.flush()


def _url(endpoint: Endpoint) -> str:
    return f"{endpoint.service}://{endpoint.host}:{endpoint.port}"


def openssl_command(endpoint: Endpoint, ca: str) -> str:
    """The `openssl s_client` line that looks at `endpoint` by hand."""
    words = [
        "openssl s_client",
        f"-connect {LAB_ADDRESS}:{endpoint.port}",
        f"-servername {endpoint.host}",
    ]
    if endpoint.security is Security.STARTTLS:
        words.append(f"-starttls {_OPENSSL_STARTTLS[endpoint.protocol]}")
    words.append(f"-CAfile {ca}")
    return " ".join(words)


def scan_command(endpoints: list[Endpoint], ca: str) -> str:
    """The `mailtui scan` line that probes `endpoints` through the pins."""
    hosts = dict.fromkeys(e.host for e in endpoints)
    pins = " ".join(f"--resolve {h}:{LAB_ADDRESS}" for h in hosts)
    urls = " ".join(_url(e) for e in endpoints)
    return f"mailtui scan --ca-file {ca} {pins} {urls}"
