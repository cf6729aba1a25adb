"""A lab of many well-behaved endpoints, for the large-scan benchmarks.

The profiles of `mailtui lab` hold a few dozen endpoints; measuring a scan
of a thousand needs a thousand listeners. This script starts N lab servers
that speak the seven standard services in turn, spread over loopback
addresses 127.0.0.2, 127.0.0.3, ... (eight per address, so the engine's
per-address limit is exercised as it would be on a real provider), all
presenting one wildcard certificate from a throwaway lab CA.

It prints one JSON line (CA file, endpoints as SERVICE://HOST:PORT, and the
--resolve pins), then serves until it is killed.

    python benchmarks/many_lab.py --count 1000 [--latency MS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import tempfile
from dataclasses import replace
from pathlib import Path

from mailtui.lab.pki import LabPki
from mailtui.lab.servers import Behaviour, LabServer
from mailtui.model import SERVICES, STANDARD_SERVICES, Security

DOMAIN = "bench.lab.test"
PER_ADDRESS = 8


def raise_file_limit() -> None:
    """A thousand listeners need more descriptors than the usual 1024."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(count: int, latency: float) -> None:
    directory = Path(tempfile.mkdtemp(prefix="mailtui-bench-"))
    pki = LabPki.create(directory)
    context = pki.server_context([f"*.{DOMAIN}"])
    servers: list[LabServer] = []
    endpoints: list[str] = []
    pins: dict[str, str] = {}
    for i in range(count):
        service = SERVICES[STANDARD_SERVICES[i % len(STANDARD_SERVICES)]]
        address = f"127.0.0.{2 + i // PER_ADDRESS}"
        host = f"h{i // PER_ADDRESS}.{DOMAIN}"
        behaviour = replace(
            Behaviour(protocol=service.protocol),
            implicit_tls=service.security is Security.TLS,
            latency=latency,
        )
        server = LabServer(behaviour, host, context)
        port = await server.start(address=address)
        servers.append(server)
        endpoints.append(f"{service.name}://{host}:{port}")
        pins[host] = address
    print(
        json.dumps(
            {
                "ca_file": str(pki.ca_file),
                "endpoints": endpoints,
                "resolve": [f"{h}:{a}" for h, a in pins.items()],
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await asyncio.gather(*(s.close() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.0, help="ms each way")
    args = parser.parse_args()
    if not 1 <= args.count <= 250 * PER_ADDRESS:
        parser.error(f"--count must be between 1 and {250 * PER_ADDRESS}")
    raise_file_limit()
    asyncio.run(serve(args.count, args.latency / 1000))


if __name__ == "__main__":
    main()
