"""The TLS version and weak-suite sweep, checked against openssl s_client.

The sweep's word "not accepted" is only worth something if the client
really asked, so the local OpenSSL's ClientHellos are read byte by byte;
then every answer the engine gives on the lab (and on real Dovecot and
Postfix) must be the answer `openssl s_client -tls1_x` gets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailtui import certs, sweep
from mailtui.findings import assess
from mailtui.lab import Lab
from mailtui.lab.pki import LabPki
from mailtui.model import (
    CertCheck,
    CertInfo,
    Endpoint,
    ProbeResult,
    Protocol,
    Security,
    State,
    TlsFacts,
    Verdict,
)
from mailtui.probe import ProbeOptions, run_scan
from tests import realservers

TIMEOUT = 2.0

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl command not installed"
)

# openssl s_client spells the versions and the STARTTLS protocols its way.
S_CLIENT_VERSION = {
    "SSLv3": "-ssl3",
    "TLSv1": "-tls1",
    "TLSv1.1": "-tls1_1",
    "TLSv1.2": "-tls1_2",
    "TLSv1.3": "-tls1_3",
}
S_CLIENT_STARTTLS = {
    Protocol.SMTP: "smtp",
    Protocol.POP3: "pop3",
    Protocol.IMAP: "imap",
    Protocol.SIEVE: "sieve",
}
_NEW_SESSION = re.compile(r"^New, (\S+), Cipher is (\S+)", re.MULTILINE)
_PROTOCOL = re.compile(r"^\s*Protocol\s*: (\S+)", re.MULTILINE)

# -- what the local OpenSSL offers ---------------------------------------------

CLIENT_HELLO_VERSION = {
    "TLSv1": b"\x03\x01",
    "TLSv1.1": b"\x03\x02",
    "TLSv1.2": b"\x03\x03",
    # TLS 1.3 says 1.2 here and names itself in supported_versions.
    "TLSv1.3": b"\x03\x03",
}


def client_hello(context: ssl.SSLContext) -> bytes:
    outgoing = ssl.MemoryBIO()
    connection = context.wrap_bio(ssl.MemoryBIO(), outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        connection.do_handshake()
    return outgoing.read()


def test_local_support_is_what_openssl_can_put_on_the_wire() -> None:
    support = sweep.local_support()
    names = [name for name, _ in sweep.VERSIONS]

    assert sorted(support.versions + support.not_tested, key=names.index) == names
    assert {"TLSv1.2", "TLSv1.3"} <= set(support.versions)
    # Debian's OpenSSL 3 has no SSLv3 at all: it must say so, not pretend.
    assert ("SSLv3" in support.not_tested) is (not ssl.HAS_SSLv3)
    for name in support.versions:
        hello = client_hello(sweep.version_context(name))
        assert hello[0] == 0x16, name  # a handshake record
        assert hello[5] == 0x01, name  # holding a ClientHello
        if name in CLIENT_HELLO_VERSION:
            assert hello[9:11] == CLIENT_HELLO_VERSION[name], name
    for name in support.not_tested:
        assert sweep.version_context(name) is None


def test_pinned_tls13_hello_offers_only_tls13() -> None:
    hello = client_hello(sweep.version_context("TLSv1.3"))
    # supported_versions (extension 43) listing exactly 0x0304.
    assert b"\x00\x2b\x00\x03\x02\x03\x04" in hello


def test_weak_kinds_come_from_openssl_not_from_names() -> None:
    table = sweep._suite_table()
    assert table["ECDHE-ECDSA-AES128-GCM-SHA256"] == frozenset()
    assert table["AES256-GCM-SHA384"] == {"no-forward-secrecy"}
    assert table["ECDHE-RSA-AES128-SHA"] == {"cbc-sha1"}
    assert table["AECDH-AES256-SHA"] == {"anonymous", "cbc-sha1"}
    assert table["ECDHE-RSA-NULL-SHA"] == {"null"}
    support = sweep.local_support()
    for kind, suites in support.weak_suites.items():
        assert all(kind in table[s] for s in suites)
    assert set(support.weak_not_tested) == set(sweep.WEAK_KINDS) - set(
        support.weak_suites
    )


# -- the lab, swept and witnessed ------------------------------------------------

AGREEMENT = [
    ("modern", "imaps"),
    ("modern", "submission"),
    ("modern", "pop3"),
    ("isp2018", "imaps"),
    ("isp2018", "imap"),
    ("broken", "tls10"),
    ("hostile", "weak-suites"),
]
"""Lab endpoints whose sweep is checked against openssl s_client."""


def lab_key(endpoint: Endpoint) -> tuple[str, str]:
    slug, profile = endpoint.host.split(".")[0], endpoint.host.split(".")[-3]
    return profile, slug if profile in ("broken", "hostile") else endpoint.service


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def swept() -> AsyncIterator[tuple[Lab, dict[tuple[str, str], ProbeResult]]]:
    async with Lab(["modern", "isp2018", "broken", "hostile"]) as lab:
        wanted = [e for e in lab.endpoints if lab_key(e) in AGREEMENT]
        options = ProbeOptions(timeout=TIMEOUT, ca_file=lab.ca_file, sweep=True)
        scan = await run_scan(wanted, options)
        yield lab, {lab_key(r.endpoint): r for r in scan.results}


async def s_client_accepts(
    endpoint: Endpoint, version: str, ciphers: str = "ALL:COMPLEMENTOFALL"
) -> tuple[bool, str]:
    """Whether `openssl s_client` pinned to `version` completes a handshake."""
    command = [
        "openssl",
        "s_client",
        "-connect",
        f"{endpoint.address or endpoint.host}:{endpoint.port}",
        S_CLIENT_VERSION[version],
        "-cipher",
        f"{ciphers}:@SECLEVEL=0",
    ]
    if endpoint.server_name:
        command += ["-servername", endpoint.server_name]
    if endpoint.security is Security.STARTTLS:
        command += ["-starttls", S_CLIENT_STARTTLS[endpoint.protocol]]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    text = output.decode(errors="replace")
    session = _NEW_SESSION.search(text)
    if session is None or session[2] == "(NONE)":
        return False, text
    # "New, X" names the version that introduced the suite, not the one
    # negotiated; the session block says that, except under TLS 1.3, where
    # s_client leaves before the session exists and "New, TLSv1.3" is right.
    protocol = _PROTOCOL.search(text)
    return (protocol[1] if protocol else session[1]) == version, text


@needs_openssl
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("which", AGREEMENT, ids="/".join)
async def test_lab_sweep_agrees_with_s_client(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]], which: tuple[str, str]
) -> None:
    _, results = swept
    result = results[which]
    assert result.tls is not None and result.tls.accepted_versions is not None
    support = sweep.local_support()

    witnessed = await asyncio.gather(
        *(s_client_accepts(result.endpoint, v) for v in support.versions)
    )
    seen = [v for v, (ok, _) in zip(support.versions, witnessed, strict=True) if ok]

    assert result.tls.accepted_versions == seen, [t for _, t in witnessed]
    assert result.tls.not_tested == list(support.not_tested)
    assert "sweep" in result.timings


EXPECTED_VERSIONS = {
    ("modern", "imaps"): ["TLSv1.2", "TLSv1.3"],
    ("isp2018", "imaps"): ["TLSv1.2"],
    ("broken", "tls10"): ["TLSv1"],
    ("hostile", "weak-suites"): ["TLSv1", "TLSv1.1", "TLSv1.2"],
}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("which", sorted(EXPECTED_VERSIONS), ids="/".join)
async def test_lab_sweep_finds_the_configured_versions(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]], which: tuple[str, str]
) -> None:
    _, results = swept
    assert results[which].tls.accepted_versions == EXPECTED_VERSIONS[which]


@needs_openssl
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("which", [("hostile", "weak-suites"), ("modern", "imaps")])
async def test_weak_suites_agree_with_s_client(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]], which: tuple[str, str]
) -> None:
    _, results = swept
    result = results[which]
    support = sweep.local_support()
    found = result.tls.weak_ciphers
    assert found is not None

    for kind, suites in support.weak_suites.items():
        accepted, _ = await s_client_accepts(
            result.endpoint, "TLSv1.2", ":".join(sorted(suites))
        )
        assert (kind in found) is accepted, kind
    assert result.tls.weak_not_tested == support.weak_not_tested


@pytest.mark.asyncio(loop_scope="module")
async def test_weak_suites_become_findings(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    _, results = swept
    weak = results[("hostile", "weak-suites")]
    codes = {f.code for f in weak.findings}
    assert {
        "tls-cipher-null",
        "tls-cipher-anonymous",
        "tls-cipher-cbc-sha1",
        "tls-no-forward-secrecy",
        "tls-legacy-version-accepted",
    } <= codes
    assert weak.verdict is Verdict.DEPRECATED
    modern = results[("modern", "imaps")]
    assert modern.tls.weak_ciphers == {}
    assert not any(f.code.startswith("tls-cipher") for f in modern.findings)
    assert modern.verdict is Verdict.RECOMMENDED


@pytest.mark.asyncio(loop_scope="module")
async def test_json_carries_the_sweep(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    _, results = swept
    data = results[("isp2018", "imap")].to_dict()["tls"]
    assert data["accepted_versions"] == ["TLSv1.2"]
    assert data["not_tested"] == list(sweep.local_support().not_tested)
    assert data["weak_ciphers"] == {}
    restored = ProbeResult.from_dict(results[("isp2018", "imap")].to_dict())
    assert restored.tls == results[("isp2018", "imap")].tls


@pytest.mark.asyncio(loop_scope="module")
async def test_without_sweep_nothing_is_claimed(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    lab, _ = swept
    [endpoint] = [e for e in lab.endpoints if lab_key(e) == ("modern", "imaps")]
    scan = await run_scan(
        [endpoint], ProbeOptions(timeout=TIMEOUT, ca_file=lab.ca_file)
    )
    [result] = scan.results
    assert result.tls.version == "TLSv1.3"
    assert result.tls.accepted_versions is None
    assert result.tls.weak_ciphers is None
    assert "sweep" not in result.timings


# -- bounds ---------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_sweep_stops_at_its_budget(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    lab, _ = swept
    [silent] = [e for e in lab.endpoints if lab_key(e) == ("broken", "silent")]

    async def open_silent() -> sweep.StreamPair:
        return await asyncio.open_connection(silent.address, silent.port)

    started = time.perf_counter()
    found = await sweep.sweep(
        open_silent,
        silent.server_name,
        slot=asyncio.Semaphore(8),
        timeout=30.0,
        budget=0.5,
    )

    assert time.perf_counter() - started < 1.5
    assert found.accepted_versions == []
    assert found.undecided == list(sweep.local_support().versions)
    assert found.weak_ciphers is None


@pytest.mark.asyncio(loop_scope="module")
async def test_sweep_opens_connections_only_inside_a_slot_and_closes_them(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    lab, _ = swept
    [imaps] = [e for e in lab.endpoints if lab_key(e) == ("modern", "imaps")]
    slot = asyncio.Semaphore(1)
    held: list[bool] = []
    writers: list[asyncio.StreamWriter] = []

    async def opener() -> sweep.StreamPair:
        held.append(slot.locked())
        reader, writer = await asyncio.open_connection(imaps.address, imaps.port)
        writers.append(writer)
        return reader, writer

    found = await sweep.sweep(opener, imaps.host, slot=slot, timeout=TIMEOUT, budget=10)

    assert found.accepted_versions == ["TLSv1.2", "TLSv1.3"]
    assert held and all(held)
    assert len(writers) == found.handshakes
    assert all(w.transport.is_closing() for w in writers)


@pytest.mark.asyncio(loop_scope="module")
async def test_sweep_costs_a_few_connections(
    swept: tuple[Lab, dict[tuple[str, str], ProbeResult]],
) -> None:
    _, results = swept
    notes = [
        e.text
        for e in results[("modern", "imaps")].transcript
        if e.text.startswith("TLS sweep")
    ]
    assert len(notes) == 1
    # The negotiated version is not asked again; a clean server answers the
    # weak-suite question with one refusal.
    handshakes = int(re.search(r"(\d+) handshakes", notes[0])[1])
    assert handshakes == len(sweep.local_support().versions) - 1 + 1


# -- findings from the sweep -------------------------------------------------------


def result_with(facts: TlsFacts) -> ProbeResult:
    endpoint = Endpoint("imaps", "imap.example.org", 993)
    return assess(ProbeResult(endpoint=endpoint, state=State.OPEN, tls=facts))


def codes(result: ProbeResult) -> set[str]:
    return {f.code for f in result.findings}


def test_old_versions_accepted_warn_without_lowering_the_verdict() -> None:
    facts = TlsFacts(version="TLSv1.3", accepted_versions=["TLSv1", "TLSv1.3"])
    result = result_with(facts)
    assert "tls-legacy-version-accepted" in codes(result)
    assert "TLS 1.0" in next(
        f.message for f in result.findings if f.code == "tls-legacy-version-accepted"
    )
    assert result.verdict is Verdict.RECOMMENDED


def test_sslv3_accepted_is_critical() -> None:
    result = result_with(
        TlsFacts(version="TLSv1.2", accepted_versions=["SSLv3", "TLSv1.2"])
    )
    assert "tls-sslv3-accepted" in codes(result)
    assert result.verdict is Verdict.DEPRECATED


def test_a_best_version_already_deprecated_is_not_said_twice() -> None:
    result = result_with(TlsFacts(version="TLSv1", accepted_versions=["TLSv1"]))
    assert "tls-deprecated-version" in codes(result)
    assert "tls-legacy-version-accepted" not in codes(result)


@pytest.mark.parametrize(
    ("kind", "code", "verdict"),
    [
        ("null", "tls-cipher-null", Verdict.DEPRECATED),
        ("anonymous", "tls-cipher-anonymous", Verdict.DEPRECATED),
        ("export", "tls-cipher-export", Verdict.DEPRECATED),
        ("rc4", "tls-cipher-rc4", Verdict.DEPRECATED),
        ("3des", "tls-cipher-3des", Verdict.RECOMMENDED),
        ("cbc-sha1", "tls-cipher-cbc-sha1", Verdict.RECOMMENDED),
        ("no-forward-secrecy", "tls-no-forward-secrecy", Verdict.RECOMMENDED),
    ],
)
def test_each_weak_kind_has_its_finding(kind: str, code: str, verdict: Verdict) -> None:
    facts = TlsFacts(
        version="TLSv1.3",
        accepted_versions=["TLSv1.2", "TLSv1.3"],
        weak_ciphers={kind: "SOME-SUITE"},
    )
    result = result_with(facts)
    [finding] = [f for f in result.findings if f.code == code]
    assert "SOME-SUITE" in finding.message
    assert finding.reference.startswith("RFC")
    assert result.verdict is verdict


# -- certificate grading ------------------------------------------------------------


def leaf(
    *,
    days: int = 90,
    san: bool = True,
    must_staple: bool = False,
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.org")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(42)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("mail.example.org")]), False
        )
    if must_staple:
        builder = builder.add_extension(
            x509.TLSFeature([x509.TLSFeatureType.status_request]), False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("kwargs", "advisories"),
    [
        ({}, []),
        ({"days": 397}, []),
        ({"days": 500}, ["long-validity"]),
        ({"san": False}, ["no-san"]),
        ({"must_staple": True}, ["must-staple"]),
        ({"days": 800, "san": False, "must_staple": True}, list(certs.ADVISORY_ORDER)),
    ],
)
def test_certificate_advisories(kwargs: dict, advisories: list[str]) -> None:
    checked = certs.check_chain([leaf(**kwargs)], "mail.example.org")
    assert checked.advisories == advisories
    # Advisories never stand in for problems: a self-signed leaf stays that.
    assert "self-signed" in checked.problems


def test_advisories_become_findings_without_lowering_the_verdict() -> None:
    info = CertInfo(
        subject="CN=x",
        issuer="CN=x",
        not_before="2024-01-01T00:00:00Z",
        not_after="2026-01-01T00:00:00Z",
        sha256="00",
    )
    check = CertCheck(
        trusted=True, chain=[info], advisories=["long-validity", "must-staple"]
    )
    endpoint = Endpoint("imaps", "imap.example.org", 993)
    result = assess(
        ProbeResult(
            endpoint=endpoint,
            state=State.OPEN,
            tls=TlsFacts(version="TLSv1.3"),
            certificate=check,
        )
    )
    assert {"cert-long-validity", "cert-must-staple"} <= codes(result)
    [long] = [f for f in result.findings if f.code == "cert-long-validity"]
    assert "731 days" in long.message
    assert result.verdict is Verdict.RECOMMENDED


def test_lab_variants_are_graded(tmp_path: Path) -> None:
    pki = LabPki.create(tmp_path)

    def graded(variant: str) -> CertCheck:
        chain_pem, _ = pki.leaf(["mail.lab.test"], variant)
        chain = [
            ssl.PEM_cert_to_DER_cert(block + "-----END CERTIFICATE-----\n")
            for block in chain_pem.decode().split("-----END CERTIFICATE-----\n")[:-1]
        ]
        return certs.check_chain(chain, "mail.lab.test", ca_file=pki.ca_file)

    assert graded("long-validity").advisories == ["long-validity"]
    assert graded("long-validity").trusted
    assert "weak-key" in graded("weak-key").problems
    assert "sha1-signature" in graded("sha1").problems
    assert graded("valid").advisories == []


# -- real servers -------------------------------------------------------------------

REAL = [
    ("dovecot", "imaps"),
    ("dovecot", "pop3"),
    ("postfix", "submissions"),
    ("postfix", "submission"),
]


@needs_openssl
@pytest.mark.parametrize(
    ("server_name", "service"), REAL, ids=["/".join(r) for r in REAL]
)
def test_real_server_sweep_agrees_with_s_client(
    request: pytest.FixtureRequest, server_name: str, service: str
) -> None:
    server: realservers.RealServer = request.getfixturevalue(server_name)
    endpoint = server.endpoints[service]
    options = ProbeOptions(timeout=10.0, ca_file=server.ca_file, sweep=True)

    async def both() -> tuple[ProbeResult, list[tuple[bool, str]]]:
        scan = await run_scan([endpoint], options)
        versions = sweep.local_support().versions
        seen = await asyncio.gather(*(s_client_accepts(endpoint, v) for v in versions))
        return scan.results[0], seen

    result, seen = asyncio.run(both())
    versions = sweep.local_support().versions
    witnessed = [v for v, (ok, _) in zip(versions, seen, strict=True) if ok]

    assert result.state is State.OPEN, result.error
    assert result.tls is not None
    assert result.tls.accepted_versions == witnessed
    assert "TLSv1.2" in witnessed
