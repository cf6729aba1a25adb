"""The probe's TLS side against real handshakes with lab servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mailtui.lab.pki import LabPki
from mailtui.tls import peer_chain_der, probe_context, tls_facts

NAME = "mail.lab.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki.create(tmp_path_factory.mktemp("pki"))


def sent_chain(pki: LabPki, variant: str) -> list[bytes]:
    """The DER certificates a lab server of `variant` sends."""
    pem = pki.leaf([NAME], variant)[0]
    return [c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(pem)]


async def handshake(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> ssl.SSLObject:
    """Connect over loopback, finish the TLS handshake, return the client side."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client closes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context, server_hostname=NAME
            ),
            timeout=5,
        )
        ssl_object = writer.get_extra_info("ssl_object")
        writer.close()
        return ssl_object
    finally:
        server.close()
        await server.wait_closed()


def test_probe_context_is_shared_and_verifies_nothing() -> None:
    context = probe_context()
    assert context is probe_context()
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1


async def test_valid_chain_is_captured_whole(pki: LabPki) -> None:
    ssl_object = await handshake(pki.server_context([NAME]), probe_context())
    assert peer_chain_der(ssl_object) == sent_chain(pki, "valid")
    assert len(peer_chain_der(ssl_object)) == 2


async def test_missing_intermediate_captures_the_leaf_alone(pki: LabPki) -> None:
    context = pki.server_context([NAME], "missing-intermediate")
    ssl_object = await handshake(context, probe_context())
    chain = peer_chain_der(ssl_object)
    assert chain == sent_chain(pki, "missing-intermediate")
    assert len(chain) == 1


@pytest.mark.parametrize("variant", ["expired", "self-signed", "weak-key", "sha1"])
async def test_bad_certificates_do_not_stop_the_handshake(
    pki: LabPki, variant: str
) -> None:
    context = pki.server_context([NAME], variant)
    ssl_object = await handshake(context, probe_context())
    assert peer_chain_der(ssl_object) == sent_chain(pki, variant)

    # The same server is refused by a verifying client: the probe's leniency
    # is what lets mailtui see the chain at all.
    strict = ssl.create_default_context(cafile=pki.ca_file)
    with pytest.raises(ssl.SSLError):
        await handshake(context, strict)


async def test_facts_default_to_tls_1_3(pki: LabPki) -> None:
    ssl_object = await handshake(pki.server_context([NAME]), probe_context())
    facts = tls_facts(ssl_object)
    assert facts.version == "TLSv1.3"
    assert facts.cipher and facts.cipher.startswith("TLS_")
    assert facts.bits in (128, 256)


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (ssl.TLSVersion.TLSv1, "TLSv1"),
        (ssl.TLSVersion.TLSv1_1, "TLSv1.1"),
        (ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
    ],
)
async def test_old_only_servers_are_seen_as_such(
    pki: LabPki, maximum: ssl.TLSVersion, expected: str
) -> None:
    context = pki.server_context([NAME], maximum_version=maximum)
    ssl_object = await handshake(context, probe_context())
    facts = tls_facts(ssl_object)
    assert facts.version == expected
    assert facts.cipher
    assert facts.bits and facts.bits >= 128
    assert len(peer_chain_der(ssl_object)) == 2


@pytest.fixture
def blocking_server(pki: LabPki) -> Iterator[int]:
    """A one-connection TLS server on a thread, for the SSLSocket path."""
    context = pki.server_context([NAME], "valid")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(timeout=5)


def test_chain_from_a_blocking_socket(pki: LabPki, blocking_server: int) -> None:
    raw = socket.create_connection(("127.0.0.1", blocking_server), timeout=5)
    with probe_context().wrap_socket(raw, server_hostname=NAME) as tls:
        assert peer_chain_der(tls) == sent_chain(pki, "valid")
        assert tls_facts(tls).version == "TLSv1.3"


class _LeafOnly:
    """A real SSL object seen through the one method every Python has."""

    def __init__(self, inner: ssl.SSLObject) -> None:
        self._inner = inner

    def getpeercert(self, binary_form: bool = False) -> bytes | None:
        return self._inner.getpeercert(binary_form=True)


async def test_fallback_keeps_the_leaf(pki: LabPki) -> None:
    ssl_object = await handshake(pki.server_context([NAME]), probe_context())
    chain = peer_chain_der(_LeafOnly(ssl_object))  # type: ignore[arg-type]
    assert chain == sent_chain(pki, "valid")[:1]
