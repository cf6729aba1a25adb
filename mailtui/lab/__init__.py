"""Simulated mail providers on loopback: a fixture, a teaching aid, a demo.

`Lab` starts one `LabServer` per endpoint of the chosen profiles on
127.0.0.1, on free ports, with certificates from a throwaway CA, and lists
the result as `Endpoint`s pinned to 127.0.0.1, ready to probe::

    async with Lab(["modern"]) as lab:
        scan = await run_scan(lab.endpoints, ProbeOptions(ca_file=lab.ca_file))

Everything it shows is labelled as simulated.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from mailtui.lab.pki import LabPki
from mailtui.lab.profiles import ALL_PROFILES, PROFILES, LabEndpoint, Profile
from mailtui.lab.servers import Behaviour, LabServer
from mailtui.model import Endpoint

__all__ = [
    "ALL_PROFILES",
    "LAB_ADDRESS",
    "PROFILES",
    "Behaviour",
    "Lab",
    "LabEndpoint",
    "LabServer",
    "Profile",
]

LAB_ADDRESS = "127.0.0.1"
"""Where every lab server listens, and what every lab name is pinned to."""


STABLE_PORTS = range(20000, 32000)
"""Where stable lab ports are chosen: high, and below Linux's ephemeral
range (32768 and up), so that client sockets rarely hold them."""


def stable_port(profile: str, host: str, service: str) -> int:
    """The port an endpoint asks for at every start, from its identity."""
    digest = zlib.crc32(f"{profile}/{host}/{service}".encode())
    return STABLE_PORTS.start + digest % len(STABLE_PORTS)


class Lab:
    """The servers of one or more profiles, started and stopped together.

    Args:
        profiles: profile names (see `ALL_PROFILES`); None for `PROFILES`,
            the default set, which leaves out the opt-in "hostile" one.
        latency: seconds of imitated network delay, each way.
        directory: where the CA and certificates go; a temporary directory,
            removed by `stop()`, when None.
        stable_ports: give each endpoint the same port at every start when
            that port is free (a free one otherwise), so that what a person
            copied from one run, and the history of the demo, still fit the
            next. Tests leave it off and take whatever port is free.
    """

    def __init__(
        self,
        profiles: Iterable[str] | None = None,
        *,
        latency: float = 0.0,
        directory: Path | None = None,
        stable_ports: bool = False,
    ) -> None:
        names = list(PROFILES) if profiles is None else list(dict.fromkeys(profiles))
        unknown = [n for n in names if n not in ALL_PROFILES]
        if unknown:
            known = ", ".join(ALL_PROFILES)
            raise ValueError(f"unknown lab profile {unknown[0]!r} (known: {known})")
        if latency < 0:
            raise ValueError("latency cannot be negative")
        self.profiles = [ALL_PROFILES[n] for n in names]
        self.latency = latency
        self.endpoints: list[Endpoint] = []
        """Every running endpoint, in profile order; filled by `start()`."""
        self._directory = directory
        self._stable_ports = stable_ports
        self._owned_directory: Path | None = None
        self._pki: LabPki | None = None
        self._servers: list[LabServer] = []
        self._sources: dict[str, tuple[Profile, LabEndpoint]] = {}

    @property
    def ca_file(self) -> Path:
        """The lab root CA (PEM), to pass as ``--ca-file``."""
        if self._pki is None:
            raise RuntimeError("the lab is not started")
        return self._pki.ca_file

    @property
    def pins(self) -> dict[str, str]:
        """Every lab host name mapped to its address, as ``--resolve`` takes."""
        return {e.host: LAB_ADDRESS for e in self.endpoints}

    async def start(self) -> None:
        """Make the certificates and start every server."""
        if self._servers:
            raise RuntimeError("the lab is already started")
        wanted = [(p, e) for p in self.profiles for e in p.endpoints]
        directory = self._directory
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="mailtui-lab-"))
            self._owned_directory = directory
        # Key generation and file writes are blocking: keep them off the loop
        # so an app starting the lab still paints on time.
        self._pki, contexts = await asyncio.to_thread(_make_tls, directory, wanted)

        self._servers = [
            LabServer(replace_latency(e.behaviour, self.latency), e.host, ctx)
            for (_, e), ctx in zip(wanted, contexts, strict=True)
        ]
        try:
            ports = await asyncio.gather(
                *(
                    self._start_server(server, profile.name, source)
                    for server, (profile, source) in zip(
                        self._servers, wanted, strict=True
                    )
                )
            )
        except BaseException:
            await self.stop()
            raise

        for (profile, source), port in zip(wanted, ports, strict=True):
            endpoint = Endpoint(
                service=source.service,
                host=source.host,
                port=port,
                address=LAB_ADDRESS,
                label=f"lab:{profile.name} {source.title} (simulated)",
            )
            self.endpoints.append(endpoint)
            self._sources[endpoint.key] = (profile, source)

    async def _start_server(
        self, server: LabServer, profile: str, source: LabEndpoint
    ) -> int:
        if self._stable_ports:
            try:
                return await server.start(
                    LAB_ADDRESS, stable_port(profile, source.host, source.service)
                )
            except OSError:
                pass  # taken by something else: any free port will do
        return await server.start(LAB_ADDRESS)

    async def stop(self) -> None:
        """Close every server and connection; safe to call twice."""
        servers, self._servers = self._servers, []
        await asyncio.gather(*(s.close() for s in servers))
        self.endpoints = []
        self._sources.clear()
        if self._owned_directory is not None:
            await asyncio.to_thread(
                shutil.rmtree, self._owned_directory, ignore_errors=True
            )
            self._owned_directory = None

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def describe(self, endpoint: Endpoint) -> str:
        """What `endpoint` imitates, in a sentence or two."""
        profile, source = self._source(endpoint)
        return f"Simulated ({profile.name}): {source.description}"

    def title(self, endpoint: Endpoint) -> str:
        """A few words saying what `endpoint` imitates."""
        return self._source(endpoint)[1].title

    def profile_of(self, endpoint: Endpoint) -> Profile:
        return self._source(endpoint)[0]

    def behaviour(self, endpoint: Endpoint) -> Behaviour:
        """How the server behind `endpoint` behaves."""
        return replace_latency(self._source(endpoint)[1].behaviour, self.latency)

    def _source(self, endpoint: Endpoint) -> tuple[Profile, LabEndpoint]:
        try:
            return self._sources[endpoint.key]
        except KeyError:
            raise KeyError(f"{endpoint.key} is not a running lab endpoint") from None


def replace_latency(behaviour: Behaviour, latency: float) -> Behaviour:
    """`behaviour` with the lab-wide latency, unless it sets its own."""
    if behaviour.latency or not latency:
        return behaviour
    return replace(behaviour, latency=latency)


def _make_tls(
    directory: Path, wanted: list[tuple[Profile, LabEndpoint]]
) -> tuple[LabPki, list[ssl.SSLContext | None]]:
    """The PKI and one server context per endpoint that needs TLS."""
    pki = LabPki.create(directory)
    contexts: list[ssl.SSLContext | None] = []
    cache: dict[tuple[object, ...], ssl.SSLContext] = {}
    for _, source in wanted:
        b = source.behaviour
        if not b.uses_tls:
            contexts.append(None)
            continue
        key = (source.host, b.cert_variant, b.tls_minimum, b.tls_maximum)
        if key not in cache:
            cache[key] = pki.server_context(
                [source.host],
                b.cert_variant,
                minimum_version=b.tls_minimum,
                maximum_version=b.tls_maximum,
            )
        contexts.append(cache[key])
    return pki, contexts
