"""Small asyncio mail servers whose every quirk is a field of `Behaviour`.

The lab needs servers that misbehave on purpose and on demand: a STARTTLS
that is advertised then refused, a go-ahead followed by injected plaintext,
a port that never answers. Real servers cannot be bent that way, so these
speak just enough SMTP, POP3, IMAP and ManageSieve to answer a prober:
greeting, capabilities, STARTTLS with a real TLS upgrade, NOOP, goodbye and
"unknown command". They never accept a login: every authentication attempt
is refused, before TLS or after.

Theory of operation
-------------------

A `LabServer` owns one listening socket on loopback and accepts
connections itself, so that it controls when each TLS handshake starts
(after the imitated network delay) and so that the client's first bytes
stay in the kernel until the TLS layer is in place. Each connection is
read line by line with a cap on the line length; each line goes to a
protocol *session*, a sans-I/O object that returns the bytes to send and
what to do next (carry on, start TLS, hang up). The wire quirks that are
not protocol (silence, garbage, injection, a failed upgrade, latency) are
applied around the session by the server.

Client bytes are untrusted: an over-long line, invalid UTF-8 or a flood of
commands ends that connection and nothing else. Closing a server closes its
listening socket and every connection it accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass
from enum import Enum
from typing import cast

from mailtui.lab import hostile
from mailtui.model import Protocol

log = logging.getLogger(__name__)

MAX_LINE = 2048
"""Longest client line read, terminator included; longer ends the session."""

MAX_COMMANDS = 200
"""Commands answered on one connection before the server hangs up."""

MAX_CONNECTIONS = 64
"""Connections served at once by one server; more are closed at once."""

MAX_BANNER = 512
"""Characters of banner text kept; the rest is cut."""

IDLE_TIMEOUT = 60.0
"""Seconds a connection may stay quiet before the server hangs up."""

HANDSHAKE_TIMEOUT = 10.0
"""Seconds allowed for a TLS handshake."""

SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
"""What a "garbage" server says by default: an SSH server on a mail port."""


@dataclass(frozen=True)
class Behaviour:
    """Everything a lab server does differently from a well-run one."""

    protocol: Protocol
    implicit_tls: bool = False
    """Start the TLS handshake as soon as the connection opens."""
    advertise_starttls: bool = True
    """List STARTTLS (STLS) in the capabilities of a plaintext session."""
    accept_starttls: bool = True
    """Answer STARTTLS with a go-ahead; otherwise refuse it (454, -ERR, BAD)."""
    fail_after_starttls: bool = False
    """Hang up right after the go-ahead instead of doing the handshake."""
    inject_after_starttls: bytes | None = None
    """Plaintext written right after the go-ahead, before the handshake."""
    cert_variant: str = "valid"
    """The lab PKI leaf variant presented (see `mailtui.lab.pki.VARIANTS`)."""
    tls_minimum: ssl.TLSVersion | None = None
    tls_maximum: ssl.TLSVersion | None = None
    auth_before_tls: bool = False
    """Offer logins on plaintext: AUTH PLAIN LOGIN, USER, no LOGINDISABLED."""
    banner: str | None = None
    """Greeting text after the status; None for a realistic default."""
    temporary_failure: bool = False
    """Greet with "try later" (SMTP 421, ...) and hang up."""
    silent: bool = False
    """Accept connections and never say anything."""
    garbage: bytes | None = None
    """Send these non-protocol bytes instead of a greeting, then hang up."""
    filtered: bool = False
    """Listen with a full accept queue, so connection attempts get no answer."""
    latency: float = 0.0
    """Seconds added each way: before the server acts on what it received
    and before everything it sends, to imitate a distant server."""
    hostile: str | None = None
    """An act of `mailtui.lab.hostile.ACTS`, played instead of the protocol."""
    raw_greeting: bytes | None = None
    """Greeting bytes sent as they are (invalid UTF-8, NUL...), then the
    conversation goes on as usual."""
    garbage_after_starttls: bytes | None = None
    """Answer the ClientHello that follows the go-ahead with these bytes,
    then hang up."""
    malformed_certificate: bool = False
    """Serve a certificate OpenSSL sends but `cryptography` cannot parse."""
    tls_ciphers: str | None = None
    """OpenSSL cipher string of the server, to accept weak suites; the
    endpoint's context is changed, so give such an endpoint a host of its
    own."""

    @property
    def uses_tls(self) -> bool:
        """Whether a server with this behaviour needs a TLS context."""
        return self.implicit_tls or self.accept_starttls


class Next(Enum):
    """What a connection does after a session's reply is sent."""

    CONTINUE = "continue"
    STARTTLS = "starttls"
    CLOSE = "close"


@dataclass(frozen=True)
class Reply:
    """Bytes a session wants sent, and what happens next."""

    data: bytes
    then: Next = Next.CONTINUE


def _lines(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8", "replace")


def clean_banner(text: str) -> str:
    """`text` on one line and capped, so it cannot break the framing.

    Control characters other than line breaks are kept on purpose: the lab
    sends terminal escapes to prove that clients show them inertly.
    """
    one_line = text.replace("\r", " ").replace("\n", " ")
    return one_line[:MAX_BANNER]


class Session:
    """One protocol's side of a conversation, without any I/O.

    Subclasses answer lines; this base holds the state they share.
    """

    product = "mailtui-lab (simulated)"

    def __init__(self, behaviour: Behaviour, host: str, *, can_tls: bool) -> None:
        self.behaviour = behaviour
        self.host = host
        self.tls = behaviour.implicit_tls
        """True once the conversation runs over TLS."""
        self.can_tls = can_tls
        """False when the server has no certificate to upgrade with."""

    @property
    def banner(self) -> str:
        if self.behaviour.banner is not None:
            return clean_banner(self.behaviour.banner)
        return self.default_banner()

    @property
    def offers_starttls(self) -> bool:
        # Advertising needs no certificate: a server may list STARTTLS and
        # then be unable to honour it.
        return self.behaviour.advertise_starttls and not self.tls

    @property
    def offers_auth(self) -> bool:
        return self.tls or self.behaviour.auth_before_tls

    @property
    def starts_tls(self) -> bool:
        """Whether a STARTTLS command now would get a go-ahead."""
        return self.behaviour.accept_starttls and not self.tls and self.can_tls

    def default_banner(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def greeting(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def busy(self) -> bytes:  # pragma: no cover - abstract
        """The "try again later" greeting."""
        raise NotImplementedError

    def too_long(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def handle(self, line: str) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def tls_started(self) -> bytes:
        """Called after the upgrade; returns what to send unprompted."""
        self.tls = True
        return b""


class SmtpSession(Session):
    """ESMTP (RFC 5321) as far as EHLO, STARTTLS (RFC 3207) and QUIT."""

    def default_banner(self) -> str:
        return f"{self.host} ESMTP {self.product}"

    def greeting(self) -> bytes:
        return _lines(f"220 {self.banner}")

    def busy(self) -> bytes:
        return _lines(f"421 4.3.2 {self.host} Service not available, try again later")

    def too_long(self) -> bytes:
        return _lines("500 5.5.2 Line too long")

    def handle(self, line: str) -> Reply:
        verb, _, argument = line.strip().partition(" ")
        match verb.upper():
            case "EHLO":
                if not argument:
                    return Reply(_lines("501 5.5.4 Syntax: EHLO hostname"))
                return Reply(self._ehlo(argument))
            case "HELO":
                return Reply(_lines(f"250 {self.host}"))
            case "STARTTLS":
                return self._starttls()
            case "AUTH":
                if self.offers_auth:
                    return Reply(
                        _lines("535 5.7.8 Authentication failed (lab: no logins)")
                    )
                return Reply(_lines("530 5.7.0 Must issue a STARTTLS command first"))
            case "MAIL" | "RCPT" | "DATA" | "BDAT":
                return Reply(_lines("554 5.7.1 This simulated server accepts no mail"))
            case "VRFY":
                return Reply(_lines("252 2.5.2 Cannot VRFY user"))
            case "NOOP" | "RSET":
                return Reply(_lines("250 2.0.0 OK"))
            case "HELP":
                return Reply(_lines(f"214 2.0.0 {self.product}"))
            case "QUIT":
                return Reply(_lines("221 2.0.0 Bye"), Next.CLOSE)
            case "":
                return Reply(_lines("500 5.5.2 Error: bad syntax"))
            case _:
                return Reply(_lines("502 5.5.2 Error: command not recognized"))

    def _ehlo(self, client: str) -> bytes:
        extensions = ["PIPELINING", "SIZE 36700160", "ENHANCEDSTATUSCODES"]
        if self.offers_starttls:
            extensions.append("STARTTLS")
        if self.offers_auth:
            extensions.append("AUTH PLAIN LOGIN")
        extensions += ["8BITMIME", "SMTPUTF8"]
        first = f"{self.host} Hello {clean_banner(client)[:64]}"
        body = [f"250-{item}" for item in [first, *extensions[:-1]]]
        return _lines(*body, f"250 {extensions[-1]}")

    def _starttls(self) -> Reply:
        if self.tls:
            return Reply(_lines("503 5.5.1 TLS already active"))
        if self.starts_tls:
            return Reply(_lines("220 2.0.0 Ready to start TLS"), Next.STARTTLS)
        if self.behaviour.advertise_starttls:
            return Reply(_lines("454 4.7.0 TLS not available due to local problem"))
        return Reply(_lines("502 5.5.2 Error: command not recognized"))


class Pop3Session(Session):
    """POP3 (RFC 1939) with CAPA (RFC 2449) and STLS (RFC 2595)."""

    def default_banner(self) -> str:
        return f"{self.product} POP3 ready on {self.host}"

    def greeting(self) -> bytes:
        return _lines(f"+OK {self.banner}")

    def busy(self) -> bytes:
        return _lines("-ERR [SYS/TEMP] Service unavailable, try again later")

    def too_long(self) -> bytes:
        return _lines("-ERR Line too long")

    def handle(self, line: str) -> Reply:
        verb = line.strip().partition(" ")[0].upper()
        match verb:
            case "CAPA":
                return Reply(self._capa())
            case "STLS":
                return self._stls()
            case "USER" | "PASS" | "APOP" | "AUTH":
                if self.offers_auth:
                    return Reply(_lines("-ERR [AUTH] Authentication failed (lab)"))
                return Reply(
                    _lines("-ERR [AUTH] Plaintext authentication is disallowed")
                )
            case "NOOP":
                return Reply(_lines("+OK"))
            case "QUIT":
                return Reply(_lines("+OK Logging out"), Next.CLOSE)
            case _:
                return Reply(_lines("-ERR Unknown command"))

    def _capa(self) -> bytes:
        items = ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        if self.offers_starttls:
            items.append("STLS")
        if self.offers_auth:
            items += ["USER", "SASL PLAIN LOGIN"]
        items.append("IMPLEMENTATION mailtui-lab-simulated")
        return _lines("+OK Capability list follows", *items, ".")

    def _stls(self) -> Reply:
        if self.tls:
            return Reply(_lines("-ERR TLS already active"))
        if self.starts_tls:
            return Reply(_lines("+OK Begin TLS negotiation"), Next.STARTTLS)
        if self.behaviour.advertise_starttls:
            return Reply(_lines("-ERR [SYS/TEMP] TLS not available"))
        return Reply(_lines("-ERR Unknown command"))


class ImapSession(Session):
    """IMAP4rev1 (RFC 3501) up to CAPABILITY, STARTTLS and LOGOUT."""

    def default_banner(self) -> str:
        return f"{self.product} IMAP ready on {self.host}"

    def capabilities(self) -> str:
        items = ["IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE"]
        items.append("LITERAL+")
        if self.offers_starttls:
            items.append("STARTTLS")
        if self.offers_auth:
            items += ["AUTH=PLAIN", "AUTH=LOGIN"]
        else:
            items.append("LOGINDISABLED")
        return " ".join(items)

    def greeting(self) -> bytes:
        return _lines(f"* OK [CAPABILITY {self.capabilities()}] {self.banner}")

    def busy(self) -> bytes:
        return _lines("* BYE [UNAVAILABLE] Server busy, try again later")

    def too_long(self) -> bytes:
        return _lines("* BAD Line too long")

    def handle(self, line: str) -> Reply:
        tag, _, rest = line.strip().partition(" ")
        command = rest.partition(" ")[0].upper()
        if not tag or not command:
            return Reply(_lines("* BAD Error in IMAP command: missing tag or verb"))
        tag = clean_banner(tag)[:64]
        match command:
            case "CAPABILITY":
                return Reply(
                    _lines(
                        f"* CAPABILITY {self.capabilities()}",
                        f"{tag} OK Capability completed",
                    )
                )
            case "STARTTLS":
                return self._starttls(tag)
            case "LOGIN" | "AUTHENTICATE":
                if self.offers_auth:
                    return Reply(
                        _lines(f"{tag} NO [AUTHENTICATIONFAILED] Failed (lab)")
                    )
                return Reply(
                    _lines(f"{tag} NO [PRIVACYREQUIRED] Plaintext login disallowed")
                )
            case "NOOP":
                return Reply(_lines(f"{tag} OK NOOP completed"))
            case "LOGOUT":
                return Reply(
                    _lines("* BYE Logging out", f"{tag} OK Logout completed"),
                    Next.CLOSE,
                )
            case _:
                return Reply(_lines(f"{tag} BAD Error in IMAP command: unknown"))

    def _starttls(self, tag: str) -> Reply:
        if self.tls:
            return Reply(_lines(f"{tag} BAD TLS is already active"))
        if self.starts_tls:
            return Reply(_lines(f"{tag} OK Begin TLS negotiation now"), Next.STARTTLS)
        if self.behaviour.advertise_starttls:
            return Reply(_lines(f"{tag} NO [UNAVAILABLE] TLS not available"))
        return Reply(_lines(f"{tag} BAD Error in IMAP command: unknown"))


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class SieveSession(Session):
    """ManageSieve (RFC 5804): capabilities, STARTTLS, LOGOUT."""

    def default_banner(self) -> str:
        return f"{self.product} ManageSieve ready on {self.host}"

    def capabilities(self) -> list[str]:
        items = [
            f'"IMPLEMENTATION" {_quoted(self.product)}',
            '"SIEVE" "fileinto reject envelope vacation imap4flags"',
            '"NOTIFY" "mailto"',
            '"SASL" "PLAIN LOGIN"' if self.offers_auth else '"SASL" ""',
        ]
        if self.offers_starttls:
            items.append('"STARTTLS"')
        items.append('"VERSION" "1.0"')
        return items

    def greeting(self) -> bytes:
        return _lines(*self.capabilities(), f"OK {_quoted(self.banner)}")

    def busy(self) -> bytes:
        return _lines('BYE "Server busy, try again later"')

    def too_long(self) -> bytes:
        return _lines('BYE "Line too long"')

    def handle(self, line: str) -> Reply:
        verb = line.strip().partition(" ")[0].upper()
        match verb:
            case "CAPABILITY":
                return Reply(_lines(*self.capabilities(), 'OK "Capability completed"'))
            case "STARTTLS":
                if self.tls:
                    return Reply(_lines('NO "TLS is already active"'))
                if self.starts_tls:
                    go_ahead = _lines('OK "Begin TLS negotiation now"')
                    return Reply(go_ahead, Next.STARTTLS)
                return Reply(_lines('NO "TLS not available"'))
            case "AUTHENTICATE":
                if self.offers_auth:
                    return Reply(_lines('NO "Authentication failed (lab)"'))
                return Reply(_lines('NO (ENCRYPT-NEEDED) "Use STARTTLS first"'))
            case "NOOP":
                return Reply(_lines('OK "NOOP completed"'))
            case "LOGOUT":
                return Reply(_lines('OK "Logout completed"'), Next.CLOSE)
            case _:
                return Reply(_lines('NO "Unknown command"'))

    def tls_started(self) -> bytes:
        # RFC 5804 section 2.2: the server re-issues its capabilities
        # unprompted once TLS is up.
        super().tls_started()
        return _lines(*self.capabilities(), 'OK "TLS negotiation successful"')


SESSIONS: dict[Protocol, type[Session]] = {
    Protocol.SMTP: SmtpSession,
    Protocol.POP3: Pop3Session,
    Protocol.IMAP: ImapSession,
    Protocol.SIEVE: SieveSession,
}
"""The session class that speaks each protocol."""


class LabServer:
    """One listening socket on loopback serving one `Behaviour`.

    Args:
        behaviour: what the server does.
        host: the name it claims to be (in banners and EHLO replies).
        ssl_context: the server-side TLS context, needed for implicit TLS
            and STARTTLS; without one STARTTLS is refused.
    """

    def __init__(
        self,
        behaviour: Behaviour,
        host: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.host = host
        if behaviour.malformed_certificate:
            ssl_context = hostile.malformed_context(host)
        if behaviour.tls_ciphers and ssl_context is not None:
            ssl_context.set_ciphers(behaviour.tls_ciphers)
        self.ssl_context = ssl_context
        self.port = 0
        """The port bound by `start()`."""
        self._listener: socket.socket | None = None
        self._fillers: list[socket.socket] = []
        self._accepting: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, address: str = "127.0.0.1", port: int = 0) -> int:
        """Bind, listen and start serving; returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener = listener
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, port))
            listener.setblocking(False)
            self.port = listener.getsockname()[1]
            if self.behaviour.filtered:
                await self._fill_backlog(listener)
            else:
                listener.listen(MAX_CONNECTIONS)
                self._accepting = asyncio.create_task(self._accept_loop(listener))
        except BaseException:
            await self.close()
            raise
        return self.port

    async def close(self) -> None:
        """Stop listening and drop every connection; safe to call twice."""
        tasks = [t for t in (self._accepting, *self._connections) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._accepting = None
        self._connections.clear()
        for sock in self._fillers:
            sock.close()
        self._fillers.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _fill_backlog(self, listener: socket.socket) -> None:
        # With a backlog of 0, Linux holds one connection in the accept
        # queue; once that queue is full it drops further SYNs, so a client
        # sees exactly what a firewall that drops packets shows: a connect
        # that times out. The fillers are our own connections, never
        # accepted. Other systems count the backlog differently, so keep
        # adding fillers until one no longer completes.
        listener.listen(0)
        loop = asyncio.get_running_loop()
        target = listener.getsockname()
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self._fillers.append(filler)
            try:
                await asyncio.wait_for(loop.sock_connect(filler, target), 0.05)
            except TimeoutError:
                return
        log.warning("could not fill the accept queue of port %d", self.port)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError as exc:
                log.debug("accept failed on port %d: %s", self.port, exc)
                await asyncio.sleep(0.05)
                continue
            if len(self._connections) >= MAX_CONNECTIONS:
                sock.close()
                continue
            task = asyncio.create_task(self._serve(sock))
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)

    async def _serve(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        writer: asyncio.StreamWriter | None = None
        try:
            if self.behaviour.silent:
                await self._swallow(sock)
            elif self.behaviour.hostile is not None:
                await hostile.ACTS[self.behaviour.hostile](sock, self._greeting())
            elif self.behaviour.garbage is not None:
                await self._pause()
                await asyncio.get_running_loop().sock_sendall(
                    sock, self.behaviour.garbage
                )
                await self._swallow(sock, once=True)
            else:
                reader, writer = await self._open_streams(sock)
                await self._converse(reader, writer)
        except asyncio.CancelledError:
            if writer is not None:
                writer.transport.abort()
            raise
        except (OSError, EOFError, TimeoutError, asyncio.LimitOverrunError) as exc:
            # Client misbehaviour and failed handshakes end one connection.
            log.debug("lab connection on port %d ended: %r", self.port, exc)
        except Exception:
            # A bug here must cost one connection, never the server.
            log.exception("lab server on port %d failed", self.port)
        finally:
            await _close(writer, sock)

    def _greeting(self) -> bytes:
        """What the session would greet with, for the hostile acts."""
        session = SESSIONS[self.behaviour.protocol](
            self.behaviour, self.host, can_tls=False
        )
        return session.greeting()

    async def _pause(self, trips: int = 1) -> None:
        if self.behaviour.latency > 0:
            await asyncio.sleep(self.behaviour.latency * trips)

    async def _swallow(self, sock: socket.socket, *, once: bool = False) -> None:
        """Read and ignore what the client sends, until it stops or idles."""
        loop = asyncio.get_running_loop()
        while True:
            data = await asyncio.wait_for(loop.sock_recv(sock, 4096), IDLE_TIMEOUT)
            if not data or once:
                return

    async def _open_streams(
        self, sock: socket.socket
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        context = None
        if self.behaviour.implicit_tls:
            if self.ssl_context is None:
                raise OSError("implicit TLS without a certificate")
            context = self.ssl_context
            # The ClientHello waits in the kernel for one round trip.
            await self._pause(2)
        streams: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        streams = loop.create_future()

        def connected(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            streams.set_result((r, w))

        # A connected callback marks the protocol server-side, which
        # StreamWriter.start_tls relies on for the STARTTLS upgrade.
        reader = asyncio.StreamReader(limit=MAX_LINE)
        protocol = asyncio.StreamReaderProtocol(reader, connected)
        await loop.connect_accepted_socket(
            lambda: protocol,
            sock,
            ssl=context,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if context else None,
        )
        return await streams

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        session = SESSIONS[self.behaviour.protocol](
            self.behaviour, self.host, can_tls=self.ssl_context is not None
        )
        if self.behaviour.temporary_failure:
            await self._send(writer, session.busy())
            return
        await self._send(writer, self.behaviour.raw_greeting or session.greeting())

        for _ in range(MAX_COMMANDS):
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE_TIMEOUT)
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError:
                await self._send(writer, session.too_long())
                return
            await self._pause()
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            reply = session.handle(line)
            if reply.then is Next.STARTTLS:
                if not await self._upgrade(reader, writer, reply.data):
                    return
                await self._send(writer, session.tls_started())
                continue
            await self._send(writer, reply.data)
            if reply.then is Next.CLOSE:
                return

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not data:
            return
        await self._pause()
        writer.write(data)
        await writer.drain()

    async def _upgrade(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        go_ahead: bytes,
    ) -> bool:
        """Send the go-ahead and do the handshake; False to hang up instead."""
        assert self.ssl_context is not None
        await self._pause()
        writer.write(go_ahead + (self.behaviour.inject_after_starttls or b""))
        # No await between the write and this: the ClientHello must stay in
        # the kernel, not land in the plaintext stream buffer.
        cast(asyncio.Transport, writer.transport).pause_reading()
        if self.behaviour.fail_after_starttls:
            return False
        if self.behaviour.garbage_after_starttls is not None:
            # Wait for the ClientHello, so the garbage answers it rather than
            # arriving with the go-ahead (that would be an injection).
            cast(asyncio.Transport, writer.transport).resume_reading()
            await asyncio.wait_for(reader.read(1), IDLE_TIMEOUT)
            writer.write(self.behaviour.garbage_after_starttls)
            await writer.drain()
            return False
        await self._pause(2)
        await writer.start_tls(
            self.ssl_context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
        )
        return True


async def _close(writer: asyncio.StreamWriter | None, sock: socket.socket) -> None:
    """Close a connection, flushing what is queued but never waiting long."""
    if writer is None:
        sock.close()
        return
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    if not writer.transport.is_closing():  # pragma: no cover - belt and braces
        writer.transport.abort()
