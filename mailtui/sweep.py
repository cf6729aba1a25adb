"""Which TLS versions and weak cipher suites a server still accepts.

The main probe does one handshake, offering everything, and learns what
the server *prefers*. What it still *accepts* needs one handshake per
question: "would you speak TLS 1.0 if that were all I had?". This module
asks those questions, concurrently, over fresh connections that the caller
opens (for a STARTTLS endpoint, each one replays the plaintext preamble up
to the go-ahead).

Theory of operation
-------------------

"Not accepted" must mean the server refused, never that we did not ask.
Every client context here therefore lowers OpenSSL's security level to 0
and pins one version, and `local_support()` checks, once per process,
that the local OpenSSL really writes a ClientHello for that version
(OpenSSL 3 on Debian is built without SSLv3, for one). A version it
cannot offer is reported as *not tested*.

Weak suites are asked about for TLS 1.2 only, by *kind* (NULL, anonymous,
export, RC4, 3DES, CBC with SHA-1, no forward secrecy; RFC 9325 §4). The
kinds a suite belongs to are read from OpenSSL's own description of it,
not guessed from its name. One handshake offers every suite of every kind
not yet seen; if the server picks one, its kinds are recorded and the
next handshake offers the kinds still unseen; a refusal ends the search.
A well-configured server thus costs one handshake, and the worst case is
one per kind. Kinds the local OpenSSL has no suite for are *not tested*.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

VERSIONS: tuple[tuple[str, ssl.TLSVersion], ...] = (
    ("SSLv3", ssl.TLSVersion.SSLv3),
    ("TLSv1", ssl.TLSVersion.TLSv1),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
    ("TLSv1.2", ssl.TLSVersion.TLSv1_2),
    ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
)
"""Every version swept, oldest first, spelled as `SSLSocket.version()` does."""

WEAK_KINDS = (
    "null",
    "anonymous",
    "export",
    "rc4",
    "3des",
    "cbc-sha1",
    "no-forward-secrecy",
)
"""The kinds of weak TLS 1.2 suite asked about, worst first."""

_CIPHER_TEST_VERSION = "TLSv1.2"
_READ_SIZE = 16_384

StreamPair = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Opener = Callable[[], Awaitable[StreamPair | None]]
"""Opens a connection ready for a ClientHello; None if it could not."""


@dataclass(frozen=True)
class LocalSupport:
    """What the local OpenSSL can put in a ClientHello."""

    versions: tuple[str, ...]
    """Versions it can offer, oldest first."""
    not_tested: tuple[str, ...]
    """Versions it cannot offer at all."""
    weak_suites: dict[str, frozenset[str]] = field(default_factory=dict)
    """For each weak kind it can offer, the suites (OpenSSL names) of it."""

    @property
    def weak_not_tested(self) -> list[str]:
        return [kind for kind in WEAK_KINDS if kind not in self.weak_suites]


@dataclass
class SweepResult:
    """What one sweep learned; every list in a fixed order."""

    accepted_versions: list[str] = field(default_factory=list)
    not_tested: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    """Versions whose handshake could not be tried or finish (the server
    was unreachable, or the deadline came)."""
    weak_ciphers: dict[str, str] | None = None
    weak_not_tested: list[str] = field(default_factory=list)
    handshakes: int = 0
    """Connections used, for the transcript and the benchmarks."""


# --- what the local OpenSSL can do -------------------------------------------


def _client_context(version: ssl.TLSVersion, ciphers: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Old servers predate secure renegotiation (RFC 5746): let them answer.
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    context.set_ciphers(ciphers + ":@SECLEVEL=0")
    with warnings.catch_warnings():
        # Pinning an old version is the whole point of the sweep.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    return context


def _writes_client_hello(context: ssl.SSLContext) -> bool:
    """Whether `context` produces a ClientHello, tried in memory."""
    outgoing = ssl.MemoryBIO()
    connection = context.wrap_bio(ssl.MemoryBIO(), outgoing)
    try:
        connection.do_handshake()
    except ssl.SSLWantReadError:
        return bool(outgoing.pending)
    except (ssl.SSLError, ValueError):
        return False
    return False  # pragma: no cover - a handshake cannot finish alone


@functools.cache
def version_context(name: str) -> ssl.SSLContext | None:
    """A client context offering version `name` only, or None if impossible."""
    version = dict(VERSIONS)[name]
    try:
        context = _client_context(version, "ALL:COMPLEMENTOFALL")
    except (ssl.SSLError, ValueError):
        return None
    return context if _writes_client_hello(context) else None


def kinds_of(suite: Mapping[str, object]) -> set[str]:
    """The weak kinds one suite of `SSLContext.get_ciphers()` belongs to."""
    name = str(suite.get("name", ""))
    symmetric = suite.get("symmetric")
    kinds = set()
    if symmetric is None:
        kinds.add("null")
    if suite.get("auth") == "auth-null":
        kinds.add("anonymous")
    if name.startswith("EXP"):
        kinds.add("export")
    if isinstance(symmetric, str) and symmetric.startswith("rc4"):
        kinds.add("rc4")
    if isinstance(symmetric, str) and symmetric.startswith("des"):
        kinds.add("3des")
    if (
        symmetric is not None
        and not suite.get("aead")
        and suite.get("digest") == "sha1"
    ):
        kinds.add("cbc-sha1")
    if suite.get("kea") in ("kx-rsa", "kx-psk", "kx-rsa-psk"):
        # Static RSA key exchange: record today, read tomorrow with the key.
        kinds.add("no-forward-secrecy")
    return kinds


@functools.cache
def _suite_table() -> dict[str, frozenset[str]]:
    """Every TLS 1.2 suite the local OpenSSL knows, with its weak kinds."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    table = {}
    for suite in context.get_ciphers():
        kea = str(suite.get("kea", ""))
        if suite.get("protocol") == "TLSv1.3" or "psk" in kea or "srp" in kea:
            # TLS 1.3 suites are not chosen by this list; PSK and SRP need
            # credentials no probe has, so no server could pick them.
            continue
        table[str(suite["name"])] = frozenset(kinds_of(suite))
    return table


@functools.cache
def local_support() -> LocalSupport:
    """What this machine's OpenSSL can offer; computed once per process."""
    offered = tuple(name for name, _ in VERSIONS if version_context(name))
    missing = tuple(name for name, _ in VERSIONS if name not in offered)
    weak: dict[str, set[str]] = {}
    for suite, kinds in _suite_table().items():
        for kind in kinds:
            weak.setdefault(kind, set()).add(suite)
    usable = {}
    for kind in WEAK_KINDS:
        suites = weak.get(kind)
        if suites and _cipher_context(frozenset(suites)) is not None:
            usable[kind] = frozenset(suites)
    log.debug("local TLS support: %s; weak kinds %s", offered, sorted(usable))
    return LocalSupport(offered, missing, usable)


@functools.lru_cache(maxsize=64)
def _cipher_context(suites: frozenset[str]) -> ssl.SSLContext | None:
    version = dict(VERSIONS)[_CIPHER_TEST_VERSION]
    try:
        context = _client_context(version, ":".join(sorted(suites)))
    except (ssl.SSLError, ValueError):
        return None
    return context if _writes_client_hello(context) else None


# --- asking the server -------------------------------------------------------


async def _accepts(
    open_stream: Opener,
    context: ssl.SSLContext,
    server_name: str | None,
    slot: asyncio.Semaphore,
    timeout: float,
) -> tuple[bool | None, str | None]:
    """(accepted, suite chosen); accepted is None if nothing could be asked."""
    async with slot:
        try:
            streams = await open_stream()
        except (OSError, TimeoutError, EOFError, ssl.SSLError):
            return None, None
        if streams is None:
            return None, None
        reader, writer = streams
        try:
            async with asyncio.timeout(timeout):
                cipher = await _handshake(reader, writer, context, server_name)
        except (ssl.SSLError, OSError, TimeoutError, EOFError):
            return False, None
        finally:
            # No goodbye: the handshake was the whole question.
            writer.transport.abort()
        return True, cipher


async def _handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    server_name: str | None,
) -> str | None:
    """A client handshake over plain streams; the suite chosen.

    Done by hand with memory BIOs rather than `StreamWriter.start_tls`:
    asyncio's TLS transport allocates a 128 KiB buffer per connection and
    lets the garbage collector free it, which a thousand sweeps at once
    turn into a hundred MiB. An `SSLObject` costs a few KiB and is gone
    with the last reference.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        else:
            writer.write(outgoing.read())
            cipher = tls.cipher()
            return cipher[0] if cipher else None
        if outgoing.pending:
            writer.write(outgoing.read())
        data = await reader.read(_READ_SIZE)
        if not data:
            raise EOFError("the server closed the connection during the handshake")
        incoming.write(data)


async def sweep(
    open_stream: Opener,
    server_name: str | None,
    *,
    slot: asyncio.Semaphore,
    timeout: float,
    budget: float,
    known: Collection[str] = (),
) -> SweepResult:
    """Ask the server which versions and weak TLS 1.2 suites it accepts.

    Args:
        open_stream: opens a new connection ready for the ClientHello.
        server_name: the SNI to send (None for an IP literal).
        slot: held for each connection, to bound how hard one server is hit.
        timeout: seconds for each handshake.
        budget: seconds for the whole sweep; what is not answered by then
            is listed as undecided, and every connection is closed.
        known: versions the main probe already negotiated, so they need no
            second handshake.
    """
    support = local_support()
    result = SweepResult(
        not_tested=list(support.not_tested),
        weak_not_tested=support.weak_not_tested,
    )
    answers: dict[str, bool | None] = {v: True for v in known}

    async def ask(version: str) -> None:
        context = version_context(version)
        assert context is not None
        accepted, _ = await _accepts(open_stream, context, server_name, slot, timeout)
        result.handshakes += 1
        answers[version] = accepted

    try:
        async with asyncio.timeout(max(budget, 0.0)):
            await asyncio.gather(
                *(ask(v) for v in support.versions if v not in answers)
            )
            if answers.get(_CIPHER_TEST_VERSION):
                result.weak_ciphers = {}
                await _weak_suites(
                    open_stream, server_name, support, slot, timeout, result
                )
    except TimeoutError:
        log.info("TLS sweep of %s cut short after %g s", server_name, budget)
    if result.weak_ciphers:
        found = result.weak_ciphers
        result.weak_ciphers = {k: found[k] for k in WEAK_KINDS if k in found}
    result.accepted_versions = [v for v, _ in VERSIONS if answers.get(v)]
    result.undecided = [v for v in support.versions if answers.get(v) is None]
    return result


async def _weak_suites(
    open_stream: Opener,
    server_name: str | None,
    support: LocalSupport,
    slot: asyncio.Semaphore,
    timeout: float,
    result: SweepResult,
) -> None:
    """Fill `result.weak_ciphers`, one handshake per new kind found."""
    found = result.weak_ciphers if result.weak_ciphers is not None else {}
    table = _suite_table()
    remaining = set(support.weak_suites)
    while remaining:
        suites = frozenset().union(*(support.weak_suites[k] for k in remaining))
        context = _cipher_context(suites)
        if context is None:
            return
        accepted, chosen = await _accepts(
            open_stream, context, server_name, slot, timeout
        )
        result.handshakes += 1
        if not accepted or chosen is None:
            return
        new = table.get(chosen, frozenset()) & remaining
        if not new:
            # The server chose a suite we did not offer: stop rather than loop.
            log.warning("server chose unexpected suite %s", chosen)
            return
        for kind in sorted(new, key=WEAK_KINDS.index):
            found[kind] = chosen
        remaining -= new
