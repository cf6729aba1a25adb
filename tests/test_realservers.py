"""mailtui against real Dovecot and Postfix, with openssl s_client as witness.

Three layers, each trusting the one before:

1. `parse_s_client` reads openssl's output correctly (canned output);
2. every real endpoint answers TLS as configured, according to openssl,
   and openssl notices when something is wrong (wrong name, no TLS);
3. mailtui's engine sees on every real endpoint what openssl saw, and
   what Dovecot and Postfix are known to advertise before and after TLS,
   and gives the verdict RFC 8314 calls for.

The servers are session fixtures from conftest.py (tests/realservers.py
starts them); without the daemons these tests skip, except in CI, where
they must run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from mailtui.model import Endpoint, ProbeResult, Security, State, Verdict
from mailtui.probe import ProbeOptions, run_scan
from tests.realservers import (
    DOVECOT_HOSTS,
    POSTFIX_HOST,
    RealServer,
    SClientResult,
    openssl_s_client,
    parse_s_client,
)

realserver = pytest.mark.realserver

ENDPOINTS = [
    ("dovecot", "imap"),
    ("dovecot", "imaps"),
    ("dovecot", "pop3"),
    ("dovecot", "pop3s"),
    ("dovecot", "sieve"),
    ("postfix", "smtp"),
    ("postfix", "submission"),
    ("postfix", "submissions"),
]
"""Every endpoint the two servers offer, as (fixture name, service)."""

LEAF_AND_INTERMEDIATE = 2
"""Both daemons send the lab leaf with its intermediate, not the root."""


def _server(request: pytest.FixtureRequest, name: str) -> RealServer:
    server: RealServer = request.getfixturevalue(name)
    return server


def _endpoint(server: RealServer, service: str) -> Endpoint:
    if service not in server.endpoints:
        # Only ManageSieve is optional, and only outside CI.
        reason = f"{server.name} has no {service} endpoint (package missing)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return server.endpoints[service]


# -- 1. Reading openssl's output ----------------------------------------------

HANDSHAKE_OUTPUT = """\
CONNECTED(00000003)
---
Certificate chain
 0 s:O = mailtui lab (simulated), CN = imap.dovecot.test
   i:O = mailtui lab (simulated), CN = mailtui lab intermediate CA
-----BEGIN CERTIFICATE-----
MIICODCCAd6gAwIBAgIIA7H6LyTBlJkwCgYIKoZIzj0EAwIwSDEgMB4GA1UECgwX
-----END CERTIFICATE-----
 1 s:O = mailtui lab (simulated), CN = mailtui lab intermediate CA
   i:O = mailtui lab (simulated), CN = mailtui lab root CA
---
Server certificate
subject=O = mailtui lab (simulated), CN = imap.dovecot.test
---
SSL handshake has read 1756 bytes and written 429 bytes
Verification error: hostname mismatch
---
New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384
Server public key is 256 bit
Verify return code: 62 (hostname mismatch)
---
SSL-Session:
    Protocol  : TLSv1.2
    Verify return code: 62 (hostname mismatch)
"""

FAILED_OUTPUT = """\
CONNECTED(00000003)
---
no peer certificate available
---
SSL handshake has read 5 bytes and written 323 bytes
Verification: OK
---
New, (NONE), Cipher is (NONE)
Verify return code: 0 (ok)
---
40E7D30F237F0000:error:0A00010B:SSL routines::wrong version number
"""


def test_parse_s_client_reads_a_handshake() -> None:
    seen = parse_s_client(HANDSHAKE_OUTPUT)

    assert seen.handshake_ok
    assert seen.version == "TLSv1.2"
    assert seen.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384"
    assert (seen.verify_code, seen.verify_text) == (62, "hostname mismatch")
    # PEM armour inside the chain block must not end it early.
    assert seen.chain_length == 2


def test_parse_s_client_reads_a_failed_handshake() -> None:
    seen = parse_s_client(FAILED_OUTPUT)

    assert not seen.handshake_ok
    assert (seen.version, seen.cipher) == (None, None)
    # openssl says "0 (ok)" though it verified nothing; that is not a pass.
    assert seen.verify_code is None
    assert seen.chain_length == 0


def test_parse_s_client_reads_nothing_from_garbage() -> None:
    seen = parse_s_client("connect: Connection refused\nconnect:errno=111\n")

    assert seen == SClientResult(False, None, None, None, None, 0, seen.output)


# -- 2. The real servers, seen by openssl s_client ------------------------------


@realserver
@pytest.mark.parametrize(("server_name", "service"), ENDPOINTS)
def test_openssl_completes_tls_on_every_real_endpoint(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    server = _server(request, server_name)
    endpoint = _endpoint(server, service)

    seen = openssl_s_client(endpoint, server.ca_file)

    assert seen.handshake_ok, seen.output
    assert seen.version == "TLSv1.3"
    assert seen.verify_code == 0, seen.verify_text
    assert seen.chain_length == LEAF_AND_INTERMEDIATE


@realserver
def test_dovecot_serves_one_certificate_for_all_its_names(
    dovecot: RealServer,
) -> None:
    for service, endpoint in dovecot.endpoints.items():
        assert endpoint.host == DOVECOT_HOSTS[service]
        assert openssl_s_client(endpoint, dovecot.ca_file).verify_code == 0


@realserver
def test_openssl_notices_a_name_the_certificate_lacks(postfix: RealServer) -> None:
    endpoint = dataclasses.replace(
        postfix.endpoints["submissions"], host="wrong.postfix.test"
    )

    seen = openssl_s_client(endpoint, postfix.ca_file)

    assert seen.handshake_ok
    assert (seen.verify_code, seen.verify_text) == (62, "hostname mismatch")


@realserver
def test_openssl_notices_a_plaintext_port(dovecot: RealServer) -> None:
    # Implicit TLS spoken to the STARTTLS port meets a plaintext greeting.
    endpoint = dataclasses.replace(dovecot.endpoints["imap"], service="imaps")

    seen = openssl_s_client(endpoint, dovecot.ca_file)

    assert not seen.handshake_ok
    assert seen.verify_code is None


# -- 3. mailtui's engine against the real servers --------------------------------


@dataclasses.dataclass(frozen=True)
class Expected:
    """What an endpoint must show; capabilities as the engine lists them."""

    verdict: Verdict
    before: tuple[str, ...] = ()
    """Capabilities that must be offered before TLS."""
    not_before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    """Capabilities that must be offered over TLS."""
    not_after: tuple[str, ...] = ()


SMTP_AUTH = "AUTH PLAIN LOGIN"
"""Postfix's AUTH line, with the mechanisms of Dovecot's auth_mechanisms."""

EXPECTED = {
    ("dovecot", "imap"): Expected(
        Verdict.ACCEPTABLE,
        before=("STARTTLS", "LOGINDISABLED"),
        not_before=("AUTH=PLAIN",),
        after=("AUTH=PLAIN", "AUTH=LOGIN"),
        not_after=("STARTTLS", "LOGINDISABLED"),
    ),
    ("dovecot", "imaps"): Expected(
        Verdict.RECOMMENDED,
        after=("AUTH=PLAIN", "AUTH=LOGIN"),
        not_after=("STARTTLS", "LOGINDISABLED"),
    ),
    ("dovecot", "pop3"): Expected(
        Verdict.ACCEPTABLE,
        before=("STLS",),
        not_before=("USER", "SASL PLAIN LOGIN"),
        after=("USER", "SASL PLAIN LOGIN"),
        not_after=("STLS",),
    ),
    ("dovecot", "pop3s"): Expected(
        Verdict.RECOMMENDED,
        after=("USER", "SASL PLAIN LOGIN"),
        not_after=("STLS",),
    ),
    ("dovecot", "sieve"): Expected(
        Verdict.ACCEPTABLE,
        before=("STARTTLS",),
        not_before=("SASL PLAIN LOGIN",),
        after=("SASL PLAIN LOGIN",),
        not_after=("STARTTLS",),
    ),
    # Port 25 is relay between servers: never for a mail client (RFC 8314).
    ("postfix", "smtp"): Expected(
        Verdict.DO_NOT_USE,
        before=("STARTTLS",),
        not_before=(SMTP_AUTH,),
        not_after=("STARTTLS", SMTP_AUTH),
    ),
    ("postfix", "submission"): Expected(
        Verdict.ACCEPTABLE,
        before=("STARTTLS",),
        not_before=(SMTP_AUTH,),
        after=(SMTP_AUTH,),
        not_after=("STARTTLS",),
    ),
    ("postfix", "submissions"): Expected(
        Verdict.RECOMMENDED,
        after=(SMTP_AUTH,),
        not_after=("STARTTLS",),
    ),
}
assert set(EXPECTED) == set(ENDPOINTS)


def _scan(server: RealServer) -> dict[str, ProbeResult]:
    options = ProbeOptions(timeout=10.0, ca_file=server.ca_file)
    endpoints = list(server.endpoints.values())
    scan = asyncio.run(run_scan(endpoints, options, target=server.name))
    return {result.endpoint.service: result for result in scan.results}


@pytest.fixture(scope="module")
def dovecot_scan(dovecot: RealServer) -> dict[str, ProbeResult]:
    return _scan(dovecot)


@pytest.fixture(scope="module")
def postfix_scan(postfix: RealServer) -> dict[str, ProbeResult]:
    return _scan(postfix)


def _probe(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> tuple[RealServer, Endpoint, ProbeResult]:
    server = _server(request, server_name)
    endpoint = _endpoint(server, service)
    results: dict[str, ProbeResult] = request.getfixturevalue(f"{server_name}_scan")
    result = results[service]
    assert result.endpoint == endpoint
    assert result.state is State.OPEN, result.error
    assert result.error is None
    assert result.protocol_error is None
    return server, endpoint, result


@realserver
@pytest.mark.parametrize(("server_name", "service"), ENDPOINTS)
def test_engine_sees_what_openssl_sees(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    server, endpoint, result = _probe(request, server_name, service)

    seen = openssl_s_client(endpoint, server.ca_file)

    assert seen.handshake_ok, seen.output
    assert result.tls is not None
    assert (result.tls.version, result.tls.cipher) == (seen.version, seen.cipher)
    assert result.certificate is not None
    detail = result.certificate.detail
    assert result.certificate.trusted is (seen.verify_code == 0), detail
    assert result.certificate.problems == [], detail
    assert result.certificate.checked_name == endpoint.host
    assert len(result.certificate.chain) == seen.chain_length


@realserver
@pytest.mark.parametrize(("server_name", "service"), ENDPOINTS)
def test_engine_reports_starttls_as_it_happened(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    _, endpoint, result = _probe(request, server_name, service)

    if endpoint.security is Security.TLS:
        assert result.starttls is None
        assert result.capabilities_before == []
    else:
        assert result.starttls is not None
        facts = result.starttls
        assert (facts.advertised, facts.accepted, facts.completed) == (
            True,
            True,
            True,
        )
        assert facts.injected is None


@realserver
@pytest.mark.parametrize(("server_name", "service"), ENDPOINTS)
def test_engine_lists_capabilities_before_and_after_tls(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    server, _, result = _probe(request, server_name, service)
    expected = EXPECTED[server_name, service]
    if server_name == "postfix" and server.sasl_socket is None:
        # Without Dovecot behind it, Postfix offers no AUTH at all.
        expected = dataclasses.replace(expected, after=())

    before = set(result.capabilities_before)
    after = set(result.capabilities_after or ())
    assert result.capabilities_after is not None
    assert set(expected.before) <= before, result.capabilities_before
    assert not set(expected.not_before) & before, result.capabilities_before
    assert set(expected.after) <= after, result.capabilities_after
    assert not set(expected.not_after) & after, result.capabilities_after


@realserver
@pytest.mark.parametrize(("server_name", "service"), ENDPOINTS)
def test_engine_gives_the_rfc_8314_verdict(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    _, _, result = _probe(request, server_name, service)

    assert result.verdict is EXPECTED[server_name, service].verdict, [
        f.code for f in result.findings
    ]


@realserver
def test_engine_distrusts_a_real_server_under_the_wrong_name(
    postfix: RealServer,
) -> None:
    endpoint = dataclasses.replace(
        postfix.endpoints["submissions"], host=f"wrong.{POSTFIX_HOST}"
    )
    options = ProbeOptions(timeout=10.0, ca_file=postfix.ca_file)

    scan = asyncio.run(run_scan([endpoint], options))

    (result,) = scan.results
    assert result.state is State.OPEN
    assert result.certificate is not None
    assert not result.certificate.trusted
    assert "name-mismatch" in result.certificate.problems
    assert result.verdict is not Verdict.RECOMMENDED
