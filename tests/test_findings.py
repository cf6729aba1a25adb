"""Each verdict rule on its own, from hand-built facts (no network here)."""

from __future__ import annotations

import pytest

from mailtui.findings import RULES, assess
from mailtui.model import (
    CertCheck,
    CertInfo,
    Endpoint,
    ProbeResult,
    Severity,
    StartTls,
    State,
    TlsFacts,
    Verdict,
)

LEAF = CertInfo(
    subject="CN=imap.example.org",
    issuer="CN=Example CA",
    not_before="2026-01-01T00:00:00+00:00",
    not_after="2026-06-01T00:00:00+00:00",
    sha256="00" * 32,
    key_type="RSA",
    key_bits=1024,
)


def result(
    service: str = "imaps",
    *,
    tls: str | None = "TLSv1.3",
    trusted: bool = True,
    problems: tuple[str, ...] = (),
    starttls: StartTls | None = None,
    caps: tuple[str, ...] = (),
    **facts: object,
) -> ProbeResult:
    port = {"imaps": 993, "imap": 143, "smtp": 25, "submission": 587}[service]
    r = ProbeResult(Endpoint(service, "imap.example.org", port), state=State.OPEN)
    r.greeting = "* OK ready"
    if tls:
        r.tls = TlsFacts(version=tls, cipher="TLS_AES_256_GCM_SHA384", bits=256)
        r.certificate = CertCheck(
            trusted=trusted, problems=list(problems), chain=[LEAF]
        )
    r.starttls = starttls
    r.capabilities_before = list(caps)
    for name, value in facts.items():
        setattr(r, name, value)
    return assess(r)


def codes(r: ProbeResult) -> list[str]:
    return [f.code for f in r.findings]


def test_every_rule_is_complete() -> None:
    for code, rule in RULES.items():
        assert rule.reference, code
        assert rule.message.endswith((".", ":", "{detail}")), code


def test_implicit_tls_with_a_good_chain_is_recommended() -> None:
    r = result()
    assert r.verdict is Verdict.RECOMMENDED
    assert codes(r) == ["implicit-tls"]


def test_working_starttls_is_only_acceptable() -> None:
    st = StartTls(advertised=True, accepted=True, completed=True)
    r = result("imap", starttls=st, caps=("IMAP4rev1", "STARTTLS", "LOGINDISABLED"))
    assert r.verdict is Verdict.ACCEPTABLE
    assert codes(r) == ["starttls-not-implicit"]


def test_no_starttls_at_all_is_do_not_use() -> None:
    r = result("imap", tls=None, starttls=StartTls(response="a2 BAD unknown"))
    assert r.verdict is Verdict.DO_NOT_USE
    assert "starttls-missing" in codes(r)


def test_advertised_but_refused_and_accepted_but_broken() -> None:
    refused = result(
        "submission",
        tls=None,
        starttls=StartTls(advertised=True, response="454 TLS not available"),
    )
    assert codes(refused)[0] == "starttls-refused"
    assert "454 TLS not available" in refused.findings[0].message
    broken = result(
        "submission",
        tls=None,
        starttls=StartTls(advertised=True, accepted=True),
        tls_error="unexpected eof while reading",
    )
    assert codes(broken)[0] == "starttls-failed"
    assert broken.verdict is Verdict.DO_NOT_USE


def test_hidden_starttls_is_a_warning() -> None:
    st = StartTls(advertised=False, accepted=True, completed=True)
    r = result("imap", starttls=st)
    assert codes(r)[0] == "starttls-not-advertised"
    assert r.findings[0].severity is Severity.WARNING
    assert r.verdict is Verdict.ACCEPTABLE


def test_injection_after_go_ahead_is_critical() -> None:
    st = StartTls(advertised=True, accepted=True, completed=True, injected="x\r\n")
    r = result("submission", starttls=st)
    assert "plaintext-injection" in codes(r)
    assert r.verdict is Verdict.DO_NOT_USE


def test_old_tls_is_deprecated() -> None:
    r = result(tls="TLSv1")
    assert r.verdict is Verdict.DEPRECATED
    [deprecated] = [f for f in r.findings if f.code == "tls-deprecated-version"]
    assert "TLS 1.0" in deprecated.message
    assert "RFC 8996" in deprecated.reference
    assert "TLS 1.1" in result(tls="TLSv1.1").findings[0].message


@pytest.mark.parametrize(
    ("problem", "code"),
    [
        ("expired", "cert-expired"),
        ("name-mismatch", "cert-name-mismatch"),
        ("self-signed", "cert-self-signed"),
        ("unknown-issuer", "cert-unknown-issuer"),
        ("missing-intermediate", "cert-missing-intermediate"),
    ],
)
def test_untrusted_certificates_are_do_not_use(problem: str, code: str) -> None:
    r = result(trusted=False, problems=(problem,))
    assert codes(r)[0] == code
    assert r.verdict is Verdict.DO_NOT_USE


def test_weak_key_on_a_trusted_chain_is_deprecated() -> None:
    r = result(problems=("weak-key",))
    assert r.verdict is Verdict.DEPRECATED
    assert "RSA 1024 bits" in r.findings[0].message


def test_auth_before_tls_depends_on_whether_tls_follows() -> None:
    caps = ("IMAP4rev1", "STARTTLS", "AUTH=PLAIN")
    st = StartTls(advertised=True, accepted=True, completed=True)
    exposed = result("imap", starttls=st, caps=caps)
    assert "auth-before-tls" in codes(exposed)
    assert exposed.verdict is Verdict.ACCEPTABLE
    clear = result("imap", tls=None, starttls=StartTls(), caps=caps)
    assert "auth-in-cleartext" in codes(clear)


def test_port_25_is_not_for_clients() -> None:
    st = StartTls(advertised=True, accepted=True, completed=True)
    r = result("smtp", starttls=st)
    assert "relay-port" in codes(r)
    assert r.verdict is Verdict.DO_NOT_USE
    assert all(f.severity is Severity.INFO for f in r.findings)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (State.REFUSED, "refused"),
        (State.TIMEOUT, "timeout"),
        (State.UNRESOLVED, "unresolved"),
        (State.ERROR, "connection-error"),
    ],
)
def test_unreachable_states(state: State, code: str) -> None:
    r = ProbeResult(Endpoint("imaps", "x.example", 993), state=state, error="boom")
    assess(r)
    assert codes(r) == [code]
    assert r.verdict is Verdict.UNREACHABLE


def test_temporary_failure_is_not_a_tls_failure() -> None:
    r = result(
        "submission",
        tls=None,
        starttls=None,
        temporary_failure="421 too many connections",
        greeting=None,
    )
    assert codes(r) == ["temporary-failure"]
    assert r.verdict is Verdict.UNREACHABLE


def test_silent_server_and_garbage_speaker() -> None:
    silent = result("imap", tls=None, greeting=None, error="no greeting within 5 s")
    assert codes(silent)[0] == "no-greeting"
    assert silent.verdict is Verdict.UNREACHABLE
    garbage = result("imap", tls=None, protocol_error="not an IMAP reply: 'SSH-2.0'")
    assert codes(garbage)[0] == "protocol-error"
    assert garbage.verdict is Verdict.DO_NOT_USE


def test_every_rule_has_a_few_words_for_table_cells() -> None:
    from mailtui.reports.facts import SHORT_REASONS

    assert set(RULES) <= set(SHORT_REASONS)
