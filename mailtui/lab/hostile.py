"""Lab servers that attack the prober: each act is one way to misbehave.

A mail client meets servers that are broken, overloaded or malicious, and
a prober meets more of them than anyone, since it knocks on every port.
These acts let the tests and the benchmarks prove that a probe always ends
within its deadline, with a clear state and message and bounded memory,
whatever the server does. Each act replaces the whole conversation of a
`LabServer` (see `Behaviour.hostile`); it gets the raw socket and the
greeting the protocol would have sent, and may do anything with them.

Acts bound themselves too: none sends forever to a client that went away,
and none keeps a connection past `IDLE_TIMEOUT` once the client is silent.

`malformed_context()` is not an act: the conversation is normal, but the
certificate is one that OpenSSL will serve and `cryptography` cannot read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import ssl
import struct
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailtui.lab.pki import der_tlv

HUGE_LINE = 1024 * 1024
"""Bytes of the greeting that never ends its line."""

ENDLESS_LIMIT = 64 * 1024 * 1024
"""Bytes an endless reply sends at most, should the client keep reading."""

DRIP_INTERVAL = 1.0
"""Seconds between two bytes of a dripped greeting."""

IDLE_TIMEOUT = 60.0
"""Seconds an act waits for a client that says nothing."""

TLS_ALERT = bytes.fromhex("15030300020228")
"""A TLS record: fatal alert, handshake_failure (RFC 8446 §6)."""

CUT_SERVER_HELLO = bytes.fromhex("160303007a020000760303") + bytes(20)
"""The start of a ServerHello record promising 122 bytes, of which 31 come."""

STARTTLS_GARBAGE = b"\x00\xffNOT TLS AT ALL\r\n" * 4
"""What a broken STARTTLS server answers a ClientHello with."""

Act = Callable[[socket.socket, bytes], Awaitable[None]]


async def _recv(sock: socket.socket, size: int = 16_384) -> bytes:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recv(sock, size), IDLE_TIMEOUT)


async def _hold(sock: socket.socket) -> None:
    """Keep the connection open, ignoring the client, until it leaves."""
    while await _recv(sock):
        pass


async def huge_line(sock: socket.socket, greeting: bytes) -> None:
    """A greeting of 1 MiB with no line ending, then nothing."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, greeting[:4] + b"x" * HUGE_LINE)
    await _hold(sock)


async def endless_reply(sock: socket.socket, greeting: bytes) -> None:
    """A multi-line greeting whose last line never comes (SMTP "220-")."""
    loop = asyncio.get_running_loop()
    code = greeting[:3]
    chunk = b"".join(code + b"-and more, line %d\r\n" % n for n in range(1000))
    sent = 0
    while sent < ENDLESS_LIMIT:
        # Blocks while the client does not read; fails once it has gone.
        await loop.sock_sendall(sock, chunk)
        sent += len(chunk)


async def drip(sock: socket.socket, greeting: bytes) -> None:
    """The greeting one byte per `DRIP_INTERVAL`: never silent, never done."""
    loop = asyncio.get_running_loop()
    for byte in greeting:
        await loop.sock_sendall(sock, bytes([byte]))
        await asyncio.sleep(DRIP_INTERVAL)
    await _hold(sock)


async def reset_after_greeting(sock: socket.socket, greeting: bytes) -> None:
    """Greet, then answer the first command with a TCP reset."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, greeting)
    await _recv(sock)
    _reset(sock)


async def tls_alert(sock: socket.socket, greeting: bytes) -> None:
    """Answer the ClientHello with a fatal alert and hang up."""
    await _recv(sock)
    await asyncio.get_running_loop().sock_sendall(sock, TLS_ALERT)


async def cut_handshake(sock: socket.socket, greeting: bytes) -> None:
    """Answer the ClientHello with part of a ServerHello, then reset."""
    await _recv(sock)
    await asyncio.get_running_loop().sock_sendall(sock, CUT_SERVER_HELLO)
    _reset(sock)


def _reset(sock: socket.socket) -> None:
    # A zero linger time makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


ACTS: dict[str, Act] = {
    "huge-line": huge_line,
    "endless-reply": endless_reply,
    "drip": drip,
    "reset-after-greeting": reset_after_greeting,
    "tls-alert": tls_alert,
    "cut-handshake": cut_handshake,
}
"""Every act, by the name `Behaviour.hostile` takes."""


def malformed_context(host: str) -> ssl.SSLContext:
    """A server context whose certificate has an unreadable SAN extension.

    OpenSSL parses that extension lazily, so it loads and serves the
    certificate; `cryptography` parses it when asked for the extensions and
    refuses the bytes \\xff and \\x00 in a DNS name (an IA5String).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])])
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0)
    marker = "zqzq"
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x6D616C)
        .not_valid_before(today - dt.timedelta(days=1))
        .not_valid_after(today + dt.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(marker + host)]), False
        )
        .sign(key, hashes.SHA256())
    )
    # Same length, so no DER length changes: only the content turns invalid.
    tbs = cert.tbs_certificate_bytes.replace(marker.encode(), b"\xff\x00\xfe\x01", 1)
    der = _signed(tbs, key)

    directory = Path(tempfile.mkdtemp(prefix="mailtui-hostile-"))
    chain_file, key_file = directory / "chain.pem", directory / "key.pem"
    chain_file.write_text(ssl.DER_cert_to_PEM_cert(der))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(chain_file, key_file)
    finally:
        # The context holds both in memory now; nothing to leave behind.
        for path in (chain_file, key_file):
            path.unlink(missing_ok=True)
        os.rmdir(directory)
    return context


_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


def _signed(tbs: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate from its to-be-signed bytes, signed ECDSA with SHA-256."""
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return der_tlv(0x30, tbs + _ECDSA_SHA256 + der_tlv(0x03, b"\x00" + signature))
