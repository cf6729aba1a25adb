"""A 1,000-endpoint scan in which a tenth of the servers are hostile.

The hostile tenth cycles through every misbehaviour of the lab (a 1 MiB
line, an endless reply, a byte a second, silence, resets, TLS alerts, cut
handshakes, garbage after STARTTLS, injected plaintext, odd certificates).
The question is whether the other nine tenths notice: each run checks that
every endpoint ended, that no hostile one overran its deadline, and that
every well-behaved one got its full result (TLS, a trusted chain, and the
version sweep when it is on). Printed as medians of several runs: wall
time, endpoints per second, the scanning process's peak RSS.

The servers run in a child process (this script with ``--serve``), so the
figures are the scanner's alone, as `bench_scan.py` measures them.

    python benchmarks/bench_hostile.py [--count 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mailtui.lab.hostile import STARTTLS_GARBAGE
from mailtui.lab.pki import LabPki
from mailtui.lab.profiles import BAD_BYTES_GREETING
from mailtui.lab.servers import Behaviour, LabServer
from mailtui.model import SERVICES, STANDARD_SERVICES, Security

HERE = Path(__file__).resolve().parent
DOMAIN = "hostile.bench.lab.test"
PER_ADDRESS = 8
TIMEOUT = 2.0
DEADLINE = 5.0
SLACK_MS = 1500
"""Overrun allowed on a loaded two-core machine before a probe counts as late."""

# (service, behaviour changes): one hostile endpoint of each, in turn.
HOSTILE: list[tuple[str, dict[str, object]]] = [
    ("submission", {"hostile": "huge-line"}),
    ("submission", {"hostile": "endless-reply"}),
    ("imap", {"hostile": "drip"}),
    ("pop3", {"hostile": "reset-after-greeting"}),
    ("imaps", {"hostile": "tls-alert"}),
    ("pop3s", {"hostile": "cut-handshake"}),
    ("submission", {"garbage_after_starttls": STARTTLS_GARBAGE}),
    ("submission", {"inject_after_starttls": b"250 AUTH PLAIN\r\n"}),
    ("submission", {"raw_greeting": BAD_BYTES_GREETING}),
    ("submission", {"silent": True}),
    ("submissions", {"malformed_certificate": True}),
    ("imaps", {"implicit_tls": False}),
]


def is_hostile(index: int) -> bool:
    return index % 10 == 9


async def serve(count: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="mailtui-bench-hostile-"))
    pki = LabPki.create(directory)
    context = pki.server_context([f"*.{DOMAIN}"])
    servers, endpoints, pins = [], [], {}
    for i in range(count):
        host = f"h{i // PER_ADDRESS}.{DOMAIN}"
        address = f"127.0.0.{2 + i // PER_ADDRESS}"
        if is_hostile(i):
            name, changes = HOSTILE[(i // 10) % len(HOSTILE)]
        else:
            name, changes = STANDARD_SERVICES[i % len(STANDARD_SERVICES)], {}
        service = SERVICES[name]
        behaviour = Behaviour(
            protocol=service.protocol,
            implicit_tls=service.security is Security.TLS,
        )
        server = LabServer(replace(behaviour, **changes), host, context)
        port = await server.start(address=address)
        servers.append(server)
        endpoints.append({"url": f"{name}://{host}:{port}", "hostile": is_hostile(i)})
        pins[host] = address
    resolve = [f"{h}:{a}" for h, a in pins.items()]
    payload = {"ca_file": str(pki.ca_file), "endpoints": endpoints, "resolve": resolve}
    print(json.dumps(payload), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await asyncio.gather(*(s.close() for s in servers))


def raise_file_limit() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def scan_once(served: dict, sweep: bool) -> tuple[float, float, list[dict]]:
    """Wall seconds, peak RSS in MiB and the endpoints of one scan."""
    command = [sys.executable, "-m", "mailtui", "scan", "--json"]
    command += ["--timeout", str(TIMEOUT), "--deadline", str(DEADLINE)]
    command += ["--ca-file", served["ca_file"]]
    command += ["--sweep" if sweep else "--no-sweep"]
    for pin in served["resolve"]:
        command += ["--resolve", pin]
    command += [e["url"] for e in served["endpoints"]]
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        results = json.load(out)["endpoints"]
    return elapsed, usage.ru_maxrss / 1024, results


def check(served: dict, results: list[dict], sweep: bool) -> tuple[int, int]:
    """Raise unless every endpoint ended and the well-behaved ones are whole."""
    assert len(results) == len(served["endpoints"])
    good = hostile = 0
    for asked, result in zip(served["endpoints"], results, strict=True):
        assert result["stage"] == "done", result["key"]
        if asked["hostile"]:
            hostile += 1
            # elapsed_ms counts the wait for a scan-wide slot too; the deadline
            # starts with the probe, when its first event is recorded.
            started = result["transcript"][0]["t_ms"] if result["transcript"] else 0
            own = result["elapsed_ms"] - started
            assert own <= DEADLINE * 1000 + SLACK_MS, (result["key"], own)
            continue
        good += 1
        tls, cert = result["tls"], result["certificate"]
        assert result["verdict"] not in ("unreachable",), result["key"]
        assert tls and tls["version"], (result["key"], result["error"])
        assert cert and cert["trusted"], result["key"]
        if sweep:
            assert tls["accepted_versions"], (result["key"], result["transcript"])
    return good, hostile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_file_limit()
    if args.serve:
        asyncio.run(serve(args.count))
        return

    command = [sys.executable, __file__, "--serve", "--count", str(args.count)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        served = json.loads(server.stdout.readline())
        print(
            f"{args.count} endpoints, one in ten hostile; timeout {TIMEOUT:g} s, "
            f"deadline {DEADLINE:g} s; medians of {args.runs} runs, {time.ctime()}"
        )
        for sweep in (False, True):
            walls, peaks = [], []
            for _ in range(args.runs):
                wall, peak, results = scan_once(served, sweep)
                good, hostile = check(served, results, sweep)
                walls.append(wall)
                peaks.append(peak)
            wall = statistics.median(walls)
            print(
                f"  sweep {'on ' if sweep else 'off'}: wall {wall:5.2f} s "
                f"(runs: {', '.join(f'{w:.2f}' for w in walls)})  "
                f"{args.count / wall:5.0f} endpoints/s  "
                f"peak RSS {statistics.median(peaks):4.0f} MiB "
                f"(max {max(peaks):.0f})  "
                f"all {hostile} hostile ended, all {good} others complete"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
