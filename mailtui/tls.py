"""TLS as the probe engine needs it: a handshake that sees everything.

A mail client's TLS context refuses bad certificates and old protocol
versions, which is right for reading mail and wrong for inspecting a
server: the probe must finish the handshake with an expired or self-signed
certificate, or with a server that only speaks TLS 1.0, and *then* say what
is wrong. So the probe context verifies nothing and offers every version the
local OpenSSL can still speak; the chain it captures is judged afterwards by
`mailtui.certs`, which names the precise problem.
"""

from __future__ import annotations

import functools
import ssl
import warnings
from typing import Any

from mailtui.model import TlsFacts

# Python 3.11 lacks the constant; its value is OpenSSL's SSL_OP_LEGACY_SERVER_CONNECT.
_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)


@functools.cache
def probe_context() -> ssl.SSLContext:
    """The client context for probe handshakes: sees all, verifies nothing.

    Shared by every probe (building a context costs milliseconds). It offers
    TLS 1.0 to 1.3 with OpenSSL's security level 0, so that a server stuck
    on TLS 1.0 is reported as such instead of failing the handshake.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    # Servers that predate RFC 5746 (secure renegotiation) are exactly the
    # old ones worth reporting; OpenSSL 3 refuses them unless told not to.
    context.options |= _LEGACY_SERVER_CONNECT
    with warnings.catch_warnings():
        # Offering TLS 1.0 is deliberate here: we want to see who accepts it.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


def peer_chain_der(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent, leaf first, DER-encoded.

    `getpeercert()` gives the leaf only. The whole chain is public API from
    Python 3.13 (`get_unverified_chain()`); on 3.11 and 3.12 the same
    OpenSSL call is reachable only through the private `_sslobj`, whose
    method returns `_ssl.Certificate` objects. If neither exists (another
    interpreter, a future refactor), the leaf alone is better than nothing.
    """
    public = getattr(ssl_object, "get_unverified_chain", None)
    if public is not None:
        return [bytes(der) for der in public() or []]

    internal: Any = getattr(ssl_object, "_sslobj", None)
    private = getattr(internal, "get_unverified_chain", None)
    if private is not None:
        import _ssl

        return [cert.public_bytes(_ssl.ENCODING_DER) for cert in private() or []]

    leaf = ssl_object.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def tls_facts(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> TlsFacts:
    """The negotiated version, cipher suite and its secret bits."""
    cipher = ssl_object.cipher()
    return TlsFacts(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        bits=cipher[2] if cipher else None,
    )
