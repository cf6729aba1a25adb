"""Parsing what users type into endpoints, and refusing what is wrong."""

from __future__ import annotations

import pytest

from mailtui.model import STANDARD_SERVICES, Endpoint, Protocol, Security
from mailtui.targets import (
    TargetError,
    parse_endpoint,
    parse_resolve,
    parse_targets,
    pin,
)


def test_bare_host_expands_to_the_seven_standard_endpoints() -> None:
    endpoints = parse_endpoint("Mail.Example.ORG")
    assert [e.service for e in endpoints] == list(STANDARD_SERVICES)
    assert [e.port for e in endpoints] == [25, 465, 587, 110, 995, 143, 993]
    assert {e.host for e in endpoints} == {"mail.example.org"}


def test_service_url_fixes_protocol_and_security_whatever_the_port() -> None:
    [ep] = parse_endpoint("imaps://mail.example.org:10993")
    assert (ep.protocol, ep.security, ep.port) == (Protocol.IMAP, Security.TLS, 10993)
    [ep] = parse_endpoint("SUBMISSION://mail.example.org")
    assert (ep.service, ep.port, ep.security) == ("submission", 587, Security.STARTTLS)


def test_ipv6_literals_with_and_without_port() -> None:
    [ep] = parse_endpoint("imap://[::1]:1143")
    assert (ep.host, ep.port, ep.server_name) == ("::1", 1143, None)
    assert ep.key == "imap://[::1]:1143"
    assert {e.host for e in parse_endpoint("[::1]")} == {"::1"}
    assert {e.host for e in parse_endpoint("::1")} == {"::1"}


def test_per_protocol_hosts() -> None:
    endpoints = parse_targets(
        [], smtp="smtp.example.org", imap="imap.example.org", pop="pop.example.org"
    )
    assert [(e.service, e.host) for e in endpoints] == [
        ("smtp", "smtp.example.org"),
        ("submissions", "smtp.example.org"),
        ("submission", "smtp.example.org"),
        ("pop3", "pop.example.org"),
        ("pop3s", "pop.example.org"),
        ("imap", "imap.example.org"),
        ("imaps", "imap.example.org"),
    ]


def test_duplicates_are_dropped_and_order_kept() -> None:
    endpoints = parse_targets(["imaps://a.example", "a.example"])
    assert endpoints[0] == Endpoint("imaps", "a.example", 993)
    assert len(endpoints) == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gopher://example.org", "unknown service 'gopher'"),
        ("imaps://example.org:0", "port out of range 1-65535: 0"),
        ("imaps://example.org:70000", "port out of range 1-65535: 70000"),
        ("imaps://example.org:abc", "port is not a number"),
        ("mail example.org", "cannot contain spaces"),
        ("example.org:993", "a port needs a service"),
        ("imaps://[::1", "unclosed '['"),
        ("imaps://[nope]:993", "not an IPv6 address"),
        ("imaps://user@example.org", "unexpected path or user"),
        ("-bad-.example", "not a valid host name"),
        ("", "empty target"),
        ("993", "'993' is a port, not a host"),
        ("imaps://993", "'993' is a port, not a host"),
        ("127.1", "not a valid host name or IP address"),
        ("0x7f000001", "not a valid host name or IP address"),
        ("mail.example.123", "not a valid host name or IP address"),
    ],
)
def test_bad_targets_get_one_line_messages(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("[", r"\[")) as caught:
        parse_endpoint(text)
    assert "\n" not in str(caught.value)


def test_nothing_to_scan() -> None:
    with pytest.raises(TargetError, match="nothing to scan"):
        parse_targets([])


def test_resolve_pins_names_to_addresses() -> None:
    assert parse_resolve("mail.test:127.0.0.5") == ("mail.test", "127.0.0.5")
    assert parse_resolve("mail.test:[::1]") == ("mail.test", "::1")
    assert parse_resolve("mail.test:::1") == ("mail.test", "::1")
    for bad in ("mail.test", "mail.test:", "mail.test:not-an-ip", ":127.0.0.1"):
        with pytest.raises(TargetError):
            parse_resolve(bad)
    pinned = pin(parse_endpoint("mail.test"), {"mail.test": "127.0.0.5"})
    assert {e.address for e in pinned} == {"127.0.0.5"}
    assert all(e.server_name == "mail.test" for e in pinned)


def test_unbracketed_ipv6_in_a_service_url_is_refused_not_guessed() -> None:
    # "::1:993" is a valid address on its own; the user meant [::1]:993.
    with pytest.raises(TargetError, match=r"needs brackets"):
        parse_endpoint("imaps://::1:993")
    [ep] = parse_endpoint("imaps://[::1]:993")
    assert (ep.host, ep.port) == ("::1", 993)
