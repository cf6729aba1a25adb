"""The asyncio probe engine: one coroutine per endpoint, bounded and timed.

A probe resolves the name (once per scan), connects, runs the protocol's
sans-I/O dialogue over the connection, upgrades to TLS when the dialogue
asks, checks the certificate chain, and records every line as a transcript
event. Then `findings.assess` turns the facts into findings and a verdict.

What keeps it honest and polite:

- every read has the stage timeout and every endpoint a deadline, so a
  silent or filtered port costs its timeout and never delays other rows;
- a global semaphore bounds the scan, and one per address bounds how hard
  any single server is hit;
- the dialogue caps line length and reply size, and the transcript is
  capped too, so a hostile server cannot exhaust memory;
- the TLS handshake is done without verification, so the chain is kept even
  when it is bad; validation is a separate step (`certs.check_chain`);
- after a STARTTLS go-ahead, any plaintext already received is set aside as
  injected and reported, never parsed as if it came over TLS;
- nothing the network does raises out of `probe_endpoint`: it becomes a
  state and an error message. Cancellation does propagate, and closes the
  socket on its way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mailtui import __version__, certs, tls
from mailtui import sweep as tls_sweep
from mailtui.findings import assess
from mailtui.model import (
    CertCheck,
    Direction,
    Endpoint,
    ProbeResult,
    Scan,
    Security,
    Stage,
    StartTls,
    State,
    TranscriptEvent,
)
from mailtui.protocols import make_dialogue
from mailtui.protocols.base import Dialogue, Done, NeedData, Send, UpgradeTls, decode

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_EVENTS = 400
"""Events kept per endpoint; the rest is summarised in one note."""

MAX_TRANSCRIPT_CHARS = 64_000
"""Characters of transcript text kept per endpoint."""

READ_SIZE = 16_384

# OpenSSL's reasons when the peer's first bytes are not a TLS record: what
# a plaintext greeting looks like to a TLS client.
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
}


Resolver = Callable[[str], Awaitable[list[str]]]
"""A host name in, its addresses out (best first); raises OSError if none."""


@dataclass
class ProbeOptions:
    """Knobs of a scan; every one has a default a user can live with."""

    timeout: float = 5.0
    """Seconds allowed for each stage (connect, each reply, handshake)."""
    deadline: float = 30.0
    """Seconds allowed for a whole endpoint."""
    concurrency: int = 64
    """Endpoints probed at once, in all."""
    per_host: int = 8
    """Endpoints probed at once on one address."""
    client_name: str = "mailtui.localhost"
    """The name sent in SMTP EHLO."""
    ca_file: Path | None = None
    """Extra trust anchors (PEM); the system store is used as well."""
    resolve: dict[str, str] = field(default_factory=dict)
    """Names pinned to addresses, as curl's --resolve does."""
    all_addresses: bool = False
    """Probe every address a name resolves to, not only the first."""
    resolver: Resolver | None = None
    """How names become addresses; None asks the system (getaddrinfo).
    Tests and callers with their own DNS view plug in here."""
    sweep: bool = False
    """Also ask which TLS versions and weak suites are accepted (about five
    more connections per endpoint, within its deadline; `mailtui.sweep`)."""

    def describe(self) -> dict[str, object]:
        """The options as plain data, for the scan's record."""
        return {
            "timeout": self.timeout,
            "deadline": self.deadline,
            "concurrency": self.concurrency,
            "per_host": self.per_host,
            "client_name": self.client_name,
            "ca_file": str(self.ca_file) if self.ca_file else None,
            "resolve": dict(self.resolve),
            "all_addresses": self.all_addresses,
            "sweep": self.sweep,
        }


@dataclass(frozen=True)
class StageChanged:
    """A probe moved on; posted often, safe to coalesce per endpoint."""

    endpoint: Endpoint
    stage: Stage


@dataclass(frozen=True)
class ProbeFinished:
    """A probe is over, with findings and verdict already computed."""

    result: ProbeResult


ProbeEvent = StageChanged | ProbeFinished
ProgressCallback = Callable[[ProbeEvent], None]


class _Limits:
    """The semaphores and the resolver cache one scan shares."""

    def __init__(self, options: ProbeOptions) -> None:
        self.options = options
        self.scan = asyncio.Semaphore(max(1, options.concurrency))
        self._per_address: dict[str, asyncio.Semaphore] = {}
        self._resolved: dict[str, asyncio.Future[list[str]]] = {}

    def for_address(self, address: str) -> asyncio.Semaphore:
        if address not in self._per_address:
            limit = max(1, self.options.per_host)
            self._per_address[address] = asyncio.Semaphore(limit)
        return self._per_address[address]

    async def resolve(self, host: str) -> list[str]:
        """Addresses of `host`, asked once per scan however many ports."""
        if host not in self._resolved:
            resolver = self.options.resolver or _getaddrinfo
            self._resolved[host] = asyncio.ensure_future(resolver(host))
        return await asyncio.shield(self._resolved[host])


async def _getaddrinfo(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Recorder:
    """The transcript of one probe, capped in events and characters."""

    def __init__(self, result: ProbeResult, started: float) -> None:
        self._events = result.transcript
        self._started = started
        self._chars = 0
        self._dropped = 0

    def add(self, direction: Direction, text: str) -> None:
        if (
            len(self._events) >= MAX_TRANSCRIPT_EVENTS
            or self._chars + len(text) > MAX_TRANSCRIPT_CHARS
        ):
            self._dropped += 1
            return
        self._chars += len(text)
        t_ms = (time.perf_counter() - self._started) * 1000
        self._events.append(TranscriptEvent(t_ms, direction, text))

    def note(self, text: str) -> None:
        self.add(Direction.NOTE, text)

    def shift(self, seconds: float) -> None:
        """Move the start later: time before it is not the probe's."""
        self._started += seconds
        for event in self._events:
            event.t_ms = max(0.0, event.t_ms - seconds * 1000)

    def close(self) -> None:
        if self._dropped:
            t_ms = (time.perf_counter() - self._started) * 1000
            text = f"transcript capped: {self._dropped} more events not kept"
            self._events.append(TranscriptEvent(t_ms, Direction.NOTE, text))


class _Probe:
    """One endpoint's probe; its steps are methods, its facts the result."""

    def __init__(
        self,
        endpoint: Endpoint,
        options: ProbeOptions,
        limits: _Limits,
        on_event: ProgressCallback | None,
    ) -> None:
        self.endpoint = endpoint
        self.options = options
        self.limits = limits
        self.on_event = on_event
        self.result = ProbeResult(endpoint=endpoint)
        self.started = time.perf_counter()
        self.record = _Recorder(self.result, self.started)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.dialogue: Dialogue | None = None
        self.deadline: asyncio.Timeout | None = None
        self.clock_started = False
        self.silent = False
        """The server let a read time out (as opposed to hanging up)."""

    # -- helpers -----------------------------------------------------------

    def stage(self, stage: Stage) -> None:
        self.result.stage = stage
        if self.on_event is not None:
            self.on_event(StageChanged(self.endpoint, stage))

    def elapsed_ms(self, since: float) -> float:
        return (time.perf_counter() - since) * 1000

    # -- the steps ---------------------------------------------------------

    async def run(self) -> ProbeResult:
        try:
            # The deadline is armed once the probe gets its per-address slot
            # (see `_slot`): time spent queuing behind other endpoints of the
            # same server is politeness, not the server's slowness.
            async with asyncio.timeout(None) as self.deadline:
                await self._run_steps()
        except TimeoutError:
            self.result.error = self.result.error or (
                f"deadline of {self.options.deadline:g} s reached during "
                f"{self.result.stage}"
            )
            self.record.note(self.result.error)
        except Exception as exc:
            # A bug of ours (or a case nobody foresaw) must cost this row,
            # not the whole scan: say so on the row and log the traceback.
            log.exception("probing %s failed", self.endpoint)
            self.result.internal_error = f"{type(exc).__name__}: {exc}"
            self.record.note(f"mailtui could not finish: {self.result.internal_error}")
        finally:
            self._close()
        self._take_facts()
        self.record.close()
        self.result.elapsed_ms = self.elapsed_ms(self.started)
        self.stage(Stage.DONE)
        assess(self.result)
        return self.result

    async def _run_steps(self) -> None:
        address = await self._resolve()
        if address is None:
            return
        async with self._slot(address):
            if not await self._connect(address):
                return
            if self.endpoint.security is Security.TLS and not await self._handshake(
                starttls=False
            ):
                return
            await self._converse()
        # After the per-address slot is given back: the sweep takes one per
        # connection, so it never waits on a slot it holds itself.
        if self.options.sweep:
            await self._sweep(address)

    @contextlib.asynccontextmanager
    async def _slot(self, address: str) -> AsyncIterator[None]:
        """Hold one of the address's slots; the first one starts the clock."""
        waited = time.perf_counter()
        async with self.limits.for_address(address):
            if not self.clock_started:
                self.clock_started = True
                queued = time.perf_counter() - waited
                if queued >= 0.001:
                    self.result.timings["queued"] = queued * 1000
                # Shift the start so that elapsed time and transcript
                # offsets leave the queuing out.
                self.started += queued
                self.record.shift(queued)
                loop = asyncio.get_running_loop()
                if self.deadline is not None:
                    self.deadline.reschedule(loop.time() + self.options.deadline)
            yield

    async def _resolve(self) -> str | None:
        ep = self.endpoint
        pinned = ep.address or self.options.resolve.get(ep.host)
        if pinned:
            self.result.addresses = [pinned]
            return pinned
        self.stage(Stage.RESOLVING)
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.options.timeout):
                addresses = await self.limits.resolve(ep.host)
        except TimeoutError:
            self.result.state = State.UNRESOLVED
            self.result.error = f"no DNS answer within {self.options.timeout:g} s"
        except (socket.gaierror, UnicodeError, OSError) as exc:
            self.result.state = State.UNRESOLVED
            self.result.error = _gai_message(exc)
        else:
            self.result.timings["resolve"] = self.elapsed_ms(t0)
            self.result.addresses = addresses
            return addresses[0] if addresses else None
        self.record.note(f"cannot resolve {ep.host}: {self.result.error}")
        return None

    async def _connect(self, address: str) -> bool:
        self.stage(Stage.CONNECTING)
        self.result.address = address
        port = self.endpoint.port
        t0 = time.perf_counter()
        shown = f"[{address}]" if ":" in address else address
        self.record.note(f"connecting to {shown}:{port}")
        try:
            async with asyncio.timeout(self.options.timeout):
                self.reader, self.writer = await asyncio.open_connection(
                    address, port, limit=READ_SIZE * 4
                )
        except TimeoutError:
            self.result.state = State.TIMEOUT
            self.result.error = (
                f"no answer to the connection attempt within {self.options.timeout:g} s"
            )
        except ConnectionRefusedError:
            self.result.state = State.REFUSED
            self.result.error = "connection refused"
        except OSError as exc:
            self.result.state = State.ERROR
            self.result.error = exc.strerror or str(exc)
        else:
            self.result.state = State.OPEN
            self.result.timings["connect"] = self.elapsed_ms(t0)
            self.record.note(f"connected in {self.result.timings['connect']:.1f} ms")
            return True
        self.record.note(self.result.error)
        return False

    async def _handshake(self, *, starttls: bool) -> bool:
        """Upgrade the connection; on failure record why and return False."""
        assert self.writer is not None
        self.stage(Stage.HANDSHAKE)
        t0 = time.perf_counter()
        try:
            await self.writer.start_tls(
                tls.probe_context(),
                server_hostname=self.endpoint.server_name,
                ssl_handshake_timeout=self.options.timeout,
            )
        except (ssl.SSLError, OSError, TimeoutError, EOFError) as exc:
            self.result.tls_error = _tls_message(exc, self.options.timeout)
            if (
                not starttls
                and isinstance(exc, ssl.SSLError)
                and exc.reason in _NOT_TLS_REASONS
            ):
                self.result.mismatch = "plaintext-on-tls-port"
            self.record.note(f"TLS handshake failed: {self.result.tls_error}")
            return False
        self.result.timings["handshake"] = self.elapsed_ms(t0)
        self._capture_tls()
        return True

    def _capture_tls(self) -> None:
        assert self.writer is not None
        ssl_object = self.writer.get_extra_info("ssl_object")
        facts = tls.tls_facts(ssl_object)
        self.result.tls = facts
        self.record.note(
            f"TLS handshake done in {self.result.timings['handshake']:.1f} ms: "
            f"{facts.version}, {facts.cipher}, {facts.bits} bits"
        )
        try:
            chain = tls.peer_chain_der(ssl_object)
        except (ValueError, ssl.SSLError) as exc:
            self.result.certificate = CertCheck(problems=["malformed"], detail=str(exc))
            return
        self.result.certificate = certs.check_chain(
            chain, self.endpoint.host, ca_file=self.options.ca_file
        )
        checked = self.result.certificate
        verdict = "trusted" if checked.trusted else ", ".join(checked.problems)
        self.record.note(
            f"certificate chain of {len(checked.chain)}: {verdict or 'untrusted'}"
        )

    async def _converse(self) -> None:
        """Run the dialogue until it is done or the server stops answering."""
        assert self.reader is not None and self.writer is not None
        is_tls = self.endpoint.security is Security.TLS
        dialogue = self.dialogue = make_dialogue(
            self.endpoint.protocol,
            tls_active=is_tls,
            try_starttls=not is_tls,
            client_name=self.options.client_name,
        )
        greeted_at: float | None = None
        t0 = time.perf_counter()
        while True:
            action = dialogue.next_action()
            if isinstance(action, Done):
                break
            if isinstance(action, Send):
                self.record.add(Direction.CLIENT, action.text)
                self.writer.write(action.data)
                continue
            if isinstance(action, UpgradeTls):
                if not await self._upgrade(dialogue):
                    break
                continue
            assert isinstance(action, NeedData)
            self.stage(_STAGES.get(action.stage, Stage.CAPABILITIES))
            data = await self._read(action.stage, dialogue.facts.greeting is None)
            if data is None:
                if greeted_at is None and not is_tls and self.silent:
                    await self._try_tls_on_silent_port()
                break
            if not data:
                self.record.note("the server closed the connection")
                dialogue.connection_closed()
                continue
            for line in dialogue.receive(data):
                self.record.add(Direction.SERVER, line)
            if greeted_at is None and dialogue.facts.greeting is not None:
                greeted_at = time.perf_counter()
                self.result.timings["greeting"] = (greeted_at - t0) * 1000

    async def _read(self, waiting_for: str, first: bool) -> bytes | None:
        """Some bytes, b"" at EOF, or None when the server stayed silent."""
        assert self.reader is not None
        try:
            async with asyncio.timeout(self.options.timeout):
                return await self.reader.read(READ_SIZE)
        except TimeoutError:
            self.silent = True
            what = "no greeting came" if first else f"no answer came ({waiting_for})"
            self.result.error = f"{what} within {self.options.timeout:g} s"
        except (ConnectionError, OSError) as exc:
            self.result.error = f"connection lost: {exc.strerror or exc}"
        except ssl.SSLError as exc:
            self.result.error = f"TLS error: {exc.reason or exc}"
        self.record.note(self.result.error)
        return None

    async def _upgrade(self, dialogue: Dialogue) -> bool:
        """The STARTTLS go-ahead came: set aside plaintext, then handshake."""
        assert self.reader is not None
        starttls = self.result.starttls or StartTls()
        # Whatever the reader already holds arrived before TLS began: it is
        # injected plaintext, never to be read as if it were encrypted.
        buffered = _drain_reader(self.reader)
        injected = dialogue.injected + buffered
        if injected:
            starttls.injected = decode(injected)
            self.record.note(
                f"{len(injected)} bytes of plaintext after the go-ahead, "
                "discarded: " + decode(injected[:200]).rstrip()
            )
        self.result.starttls = starttls
        if not await self._handshake(starttls=True):
            return False
        starttls.completed = True
        dialogue.tls_started()
        return True

    async def _try_tls_on_silent_port(self) -> None:
        """A plaintext port that says nothing may be waiting for TLS."""
        if self.reader is None or self.writer is None or self.reader.at_eof():
            return
        self.record.note("silent in plaintext: trying a TLS handshake")
        saved_error = self.result.error
        if await self._handshake(starttls=False):
            self.result.mismatch = "tls-on-plain-port"
            self.result.error = "the port speaks TLS, not plaintext"
        else:
            self.result.tls_error = None
            self.result.error = f"{saved_error}, nor a TLS handshake"

    async def _sweep(self, address: str) -> None:
        """Which versions and weak suites the server accepts, in new connections."""
        facts = self.result.tls
        if facts is None or self.result.mismatch:
            return
        # Close the main connection first: its server slot is free again.
        self._close()
        # What the endpoint's own deadline leaves, however it was armed.
        when = self.deadline.when() if self.deadline is not None else None
        if when is None:
            left = self.options.deadline - (time.perf_counter() - self.started)
        else:
            left = when - asyncio.get_running_loop().time()
        budget = left - _SWEEP_MARGIN
        if budget <= 0:
            self.record.note("no time left before the deadline for a TLS sweep")
            return
        self.stage(Stage.HANDSHAKE)
        t0 = time.perf_counter()
        found = await tls_sweep.sweep(
            lambda: self._open_for_handshake(address),
            self.endpoint.server_name,
            slot=self.limits.for_address(address),
            timeout=self.options.timeout,
            budget=budget,
            known=[facts.version] if facts.version else [],
        )
        self.result.timings["sweep"] = self.elapsed_ms(t0)
        facts.accepted_versions = found.accepted_versions
        facts.not_tested = found.not_tested
        facts.weak_ciphers = found.weak_ciphers
        facts.weak_not_tested = found.weak_not_tested
        said = [f"accepts {', '.join(found.accepted_versions) or 'none'}"]
        if found.not_tested:
            said.append(f"not tested here: {', '.join(found.not_tested)}")
        if found.undecided:
            said.append(f"undecided: {', '.join(found.undecided)}")
        if found.weak_ciphers:
            weak = ", ".join(f"{k} ({v})" for k, v in found.weak_ciphers.items())
            said.append(f"weak TLS 1.2 suites accepted: {weak}")
        self.record.note(
            f"TLS sweep, {found.handshakes} handshakes in "
            f"{self.result.timings['sweep']:.0f} ms: " + "; ".join(said)
        )

    async def _open_for_handshake(
        self, address: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A new connection where the ClientHello goes; None if STARTTLS fails.

        For implicit TLS that is at once; otherwise a fresh dialogue replays
        the plaintext preamble up to the go-ahead. Nothing is recorded: the
        main connection's transcript already shows that conversation.
        """
        timeout = self.options.timeout
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                address, self.endpoint.port, limit=READ_SIZE * 4
            )
        if self.endpoint.security is Security.TLS:
            return reader, writer
        dialogue = make_dialogue(
            self.endpoint.protocol,
            tls_active=False,
            try_starttls=True,
            client_name=self.options.client_name,
        )
        try:
            while not isinstance(action := dialogue.next_action(), Done):
                if isinstance(action, UpgradeTls):
                    _drain_reader(reader)
                    return reader, writer
                if isinstance(action, Send):
                    writer.write(action.data)
                    continue
                async with asyncio.timeout(timeout):
                    data = await reader.read(READ_SIZE)
                if data:
                    dialogue.receive(data)
                else:
                    dialogue.connection_closed()
        except BaseException:
            writer.transport.abort()
            raise
        writer.transport.abort()
        return None

    def _take_facts(self) -> None:
        if self.dialogue is None:
            return
        facts = self.dialogue.facts
        r = self.result
        r.greeting = facts.greeting
        r.capabilities_before = list(facts.capabilities_before)
        r.capabilities_after = (
            None if facts.capabilities_after is None else list(facts.capabilities_after)
        )
        r.temporary_failure = facts.temporary_failure
        r.protocol_error = r.protocol_error or facts.protocol_error
        # STARTTLS facts exist only once STARTTLS was tried: a server that
        # said "try later" or hung up first was never asked, and "not
        # advertised, not accepted" would be a claim we cannot make.
        if self.endpoint.security is Security.STARTTLS and facts.starttls_tried:
            st = r.starttls or StartTls()
            st.advertised = facts.starttls_advertised
            st.accepted = facts.starttls_accepted
            st.response = facts.starttls_response
            r.starttls = st
        if facts.closed_early and not r.error:
            r.error = "the server closed the connection early"

    def _close(self) -> None:
        # Abort rather than close: we already said goodbye, and waiting for
        # a TLS close_notify from a hostile server could hang.
        if self.writer is not None:
            self.writer.transport.abort()


_SWEEP_MARGIN = 0.05
"""Seconds kept between the end of a sweep and the endpoint's deadline."""

_STAGES = {
    "greeting": Stage.GREETING,
    "capabilities": Stage.CAPABILITIES,
    "starttls": Stage.STARTTLS,
}


def _drain_reader(reader: asyncio.StreamReader) -> bytes:
    """Take the bytes a StreamReader holds without waiting for more."""
    # StreamReader has no public way to read "what is there, or nothing";
    # its buffer is the documented-by-behaviour attribute `_buffer`.
    buffer: bytearray = getattr(reader, "_buffer", bytearray())
    data = bytes(buffer)
    buffer.clear()
    return data


def _gai_message(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return "no such host name"
        return exc.strerror or str(exc)
    if isinstance(exc, UnicodeError):
        return "the name cannot be encoded for DNS"
    return str(exc)


def _tls_message(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no TLS answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        return str(reason).replace("_", " ").lower()
    if isinstance(exc, ConnectionError | EOFError):
        return "the server closed the connection during the handshake"
    return str(exc) or type(exc).__name__


async def probe_endpoint(
    endpoint: Endpoint,
    options: ProbeOptions,
    on_event: ProgressCallback | None = None,
    *,
    _limits: _Limits | None = None,
) -> ProbeResult:
    """Probe one endpoint; never raises for anything the network does."""
    limits = _limits or _Limits(options)
    async with limits.scan:
        # Made only now, so its clock leaves out the wait for a scan slot.
        probe = _Probe(endpoint, options, limits, on_event)
        result = await probe.run()
    if on_event is not None:
        on_event(ProbeFinished(result))
    log.info("probed %s: %s, %s", endpoint, result.state, result.verdict)
    return result


async def expand_addresses(
    endpoints: list[Endpoint], options: ProbeOptions
) -> list[Endpoint]:
    """One endpoint per resolved address, for `--all-addresses`."""
    limits = _Limits(options)
    expanded: list[Endpoint] = []
    for ep in endpoints:
        if ep.address or ep.host in options.resolve:
            expanded.append(ep)
            continue
        try:
            addresses = await limits.resolve(ep.host)
        except (OSError, UnicodeError):
            expanded.append(ep)
            continue
        for address in addresses:
            expanded.append(
                Endpoint(ep.service, ep.host, ep.port, address=address, label=ep.label)
            )
    return expanded


async def run_scan(
    endpoints: list[Endpoint],
    options: ProbeOptions,
    on_event: ProgressCallback | None = None,
    target: str = "",
) -> Scan:
    """Probe every endpoint concurrently; results keep the input order.

    Cancelling the task cancels every probe and closes its socket.
    """
    scan = Scan(
        target=target,
        started_at=_now(),
        options=options.describe(),
        tool_version=__version__,
    )
    if options.all_addresses:
        endpoints = await expand_addresses(endpoints, options)
    limits = _Limits(options)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(probe_endpoint(ep, options, on_event, _limits=limits))
            for ep in endpoints
        ]
    scan.results = [task.result() for task in tasks]
    scan.finished_at = _now()
    return scan


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
