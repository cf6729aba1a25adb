"""Discovery against real servers on loopback: an HTTP server and a DNS server.

The HTTP server plays every host: discovery is given `http_base`, so a
request for `https://autoconfig.example.test/mail/config-v1.1.xml` arrives
as `/autoconfig.example.test/mail/config-v1.1.xml`. The DNS server is a
small UDP responder built with dnspython, answering from a dict; the
resolver is pointed at its port.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from mailtui.providers import paths
from mailtui.providers.discovery import (
    MAX_DOCUMENT_BYTES,
    STEPS,
    DiscoveryError,
    discover,
    domain_of,
    parse_autoconfig,
)
from mailtui.targets import TargetError

DOMAIN = "example.test"

AUTOCONFIG = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example <b>Mail</b></displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.test</hostname>
      <port>110</port>
      <socketType>STARTTLS</socketType>
    </incomingServer>
    <incomingServer type="exchange">
      <hostname>ews.example.test</hostname>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>bad host name</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname>
      <port>99999</port>
      <socketType>SSL</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<clientConfig><emailProvider>&lol2;</emailProvider></clientConfig>
"""


# -- A loopback HTTP server whose routes a test sets -------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, float]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, body, delay = self.routes.get(self.path, (404, b"no", 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class HttpServer:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.seen: list[str] = []
        handler = type(
            "Handler", (_Handler,), {"routes": self.routes, "seen": self.seen}
        )
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(
        self, path: str, body: bytes, status: int = 200, delay: float = 0
    ) -> None:
        self.routes[path] = (status, body, delay)


@pytest.fixture
def http() -> Iterator[HttpServer]:
    server = HttpServer()
    thread = threading.Thread(
        target=server.server.serve_forever, args=(0.05,), daemon=True
    )
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


# -- A loopback DNS server answering from a dict -----------------------------


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: dict[tuple[str, str], list[str]]) -> None:
        self.zone = zone
        self.queries: list[tuple[str, str]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        response = dns.message.make_response(query)
        if not any(owner == name for owner, _ in self.zone):
            response.set_rcode(dns.rcode.NXDOMAIN)
        for text in self.zone.get((name, rdtype), []):
            response.answer.append(dns.rrset.from_text(name, 60, "IN", rdtype, text))
        self.transport.sendto(response.to_wire(), addr)  # type: ignore[attr-defined]


class DnsServer:
    def __init__(self) -> None:
        self.zone: dict[tuple[str, str], list[str]] = {}
        self.protocol = _DnsProtocol(self.zone)

    def add(self, name: str, rdtype: str, *records: str) -> None:
        self.zone.setdefault((name.lower().rstrip(".") + ".", rdtype), []).extend(
            records
        )

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver


@pytest.fixture
async def dnsserver() -> AsyncIterator[DnsServer]:
    server = DnsServer()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: server.protocol, local_addr=("127.0.0.1", 0)
    )
    server.port = transport.get_extra_info("sockname")[1]
    yield server
    transport.close()


@pytest.fixture(autouse=True)
def no_real_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "config"))


def _keys(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.endpoint.key for f in result.found]


# -- Tests -------------------------------------------------------------------


def test_domain_of_addresses_and_domains() -> None:
    assert domain_of("User@Example.ORG") == "example.org"
    assert domain_of("mailto:a@b.example") == "b.example"
    assert domain_of("example.org") == "example.org"
    with pytest.raises(TargetError):
        domain_of("user@")
    with pytest.raises(TargetError):
        domain_of("user@bad host")
    for address in ("127.0.0.1", "user@[::1]", "::1"):
        with pytest.raises(TargetError, match="is an address, not a mail domain"):
            domain_of(address)


async def test_a_catalog_domain_needs_no_network(
    http: HttpServer, dnsserver: DnsServer
) -> None:
    result = await discover(
        "someone@Orange.fr",
        resolver=dnsserver.resolver(),
        http_base=http.base,
        timeout=1,
    )
    assert result.step == "catalog"
    assert result.provider is not None and result.provider.id == "orange"
    assert {f.source for f in result.found} == {"catalog:orange"}
    assert "imaps://imap.orange.fr:993" in _keys(result)
    assert not any(f.guess for f in result.found)
    assert dnsserver.protocol.queries == []
    assert http.seen == []
    # Exhaustive discovery does ask the network, and keeps the catalog first.
    everything = await discover(
        "orange.fr",
        resolver=dnsserver.resolver(),
        http_base=http.base,
        timeout=1,
        exhaustive=True,
    )
    assert everything.found[0].source == "catalog:orange"
    assert ("_imaps._tcp.orange.fr.", "SRV") in dnsserver.protocol.queries
    assert "/autoconfig.orange.fr/mail/config-v1.1.xml" in http.seen


async def test_autoconfig_from_the_domain_comes_first(
    http: HttpServer, dnsserver: DnsServer
) -> None:
    http.serve(f"/autoconfig.{DOMAIN}/mail/config-v1.1.xml", AUTOCONFIG)
    dnsserver.add(f"_imaps._tcp.{DOMAIN}", "SRV", "0 1 993 srv-imap.example.test.")
    result = await discover(
        f"me@{DOMAIN}", resolver=dnsserver.resolver(), http_base=http.base, timeout=2
    )
    assert result.step == "autoconfig"
    assert _keys(result) == [
        "imaps://imap.example.test:993",
        "pop3://pop.example.test:110",
        "submission://smtp.example.test:587",
    ]
    assert all(f.source.startswith("autoconfig http://127.0.0.1") for f in result.found)
    assert result.found[1].detail == "socketType=STARTTLS"
    # The address itself never leaves: only the domain is in any request.
    assert not any("me@" in path or "me%40" in path for path in http.seen)
    # The same discovery, exhaustively, adds the SRV answer after it.
    everything = await discover(
        DOMAIN,
        resolver=dnsserver.resolver(),
        http_base=http.base,
        timeout=2,
        exhaustive=True,
    )
    assert "imaps://srv-imap.example.test:993" in _keys(everything)


async def test_the_well_known_path_and_the_ispdb_are_fallbacks(
    http: HttpServer, dnsserver: DnsServer
) -> None:
    http.serve(f"/{DOMAIN}/.well-known/autoconfig/mail/config-v1.1.xml", AUTOCONFIG)
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base=http.base, timeout=2
    )
    assert result.step == "autoconfig"
    assert ".well-known" in result.found[0].source

    http.routes.clear()
    http.serve(f"/autoconfig.thunderbird.net/v1.1/{DOMAIN}", AUTOCONFIG)
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base=http.base, timeout=2
    )
    assert result.step == "ispdb"
    skipped = await discover(
        DOMAIN,
        resolver=dnsserver.resolver(),
        http_base=http.base,
        timeout=2,
        use_ispdb=False,
    )
    assert skipped.step != "ispdb"


async def test_malformed_and_hostile_documents_are_refused_with_a_reason(
    http: HttpServer, dnsserver: DnsServer
) -> None:
    http.serve(f"/autoconfig.{DOMAIN}/mail/config-v1.1.xml", b"<clientConfig><oops>")
    http.serve(f"/{DOMAIN}/.well-known/autoconfig/mail/config-v1.1.xml", BILLION_LAUGHS)
    http.serve(
        f"/autoconfig.thunderbird.net/v1.1/{DOMAIN}",
        b"<clientConfig>" + b" " * (MAX_DOCUMENT_BYTES + 10) + b"</clientConfig>",
    )
    dnsserver.add(f"_submissions._tcp.{DOMAIN}", "SRV", "0 0 465 smtp.example.test.")
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base=http.base, timeout=2
    )
    outcomes = {
        a.where.split("/")[3]: a.outcome
        for a in result.attempts
        if a.step in ("autoconfig", "ispdb")
    }
    assert outcomes[f"autoconfig.{DOMAIN}"].startswith("malformed XML")
    assert outcomes[DOMAIN] == "refused: the document declares a DOCTYPE or entities"
    assert "refused" in outcomes["autoconfig.thunderbird.net"]
    # Discovery went on to the next step.
    assert result.step == "srv"
    assert _keys(result) == ["submissions://smtp.example.test:465"]


async def test_srv_records_in_rfc_6186_order(dnsserver: DnsServer) -> None:
    dnsserver.add(
        f"_imaps._tcp.{DOMAIN}",
        "SRV",
        "10 0 993 backup.example.test.",
        "0 5 993 imap.example.test.",
    )
    dnsserver.add(f"_imap._tcp.{DOMAIN}", "SRV", "0 0 0 .")
    dnsserver.add(f"_submission._tcp.{DOMAIN}", "SRV", "0 0 587 smtp.example.test.")
    dnsserver.add(f"_pop3s._tcp.{DOMAIN}", "SRV", "0 0 10995 pop.example.test.")
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base="http://127.0.0.1:9", timeout=2
    )
    assert result.step == "srv"
    assert _keys(result) == [
        "submission://smtp.example.test:587",
        "imaps://imap.example.test:993",
        "imaps://backup.example.test:993",
        "pop3s://pop.example.test:10995",
    ]
    assert result.found[1].source == f"srv _imaps._tcp.{DOMAIN}"
    assert any(a.outcome == "service not offered" for a in result.attempts)
    assert not any(f.guess for f in result.found)


async def test_an_mx_at_a_known_provider_names_it(dnsserver: DnsServer) -> None:
    dnsserver.add(DOMAIN, "MX", "10 aspmx.l.google.com.", "20 alt1.aspmx.l.google.com.")
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base="http://127.0.0.1:9", timeout=2
    )
    assert result.step == "mx"
    assert result.provider is not None and result.provider.id == "gmail"
    assert "imaps://imap.gmail.com:993" in _keys(result)
    assert result.found[0].source == "mx aspmx.l.google.com -> catalog:gmail"


async def test_usual_names_are_guesses_only_when_they_resolve(
    dnsserver: DnsServer,
) -> None:
    dnsserver.add(DOMAIN, "MX", "10 mx.example.test.")
    dnsserver.add(f"imap.{DOMAIN}", "A", "127.0.0.1")
    dnsserver.add(f"mail.{DOMAIN}", "AAAA", "::1")
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base="http://127.0.0.1:9", timeout=2
    )
    assert result.step == "guess"
    keys = _keys(result)
    assert keys[0] == "smtp://mx.example.test:25"
    assert result.found[0].guess is False
    assert "imaps://imap.example.test:993" in keys
    assert "pop3s://mail.example.test:995" in keys
    assert not any("smtp.example.test" in k or "pop.example.test" in k for k in keys)
    assert all(f.guess for f in result.found[1:])
    assert result.only_guesses is False
    profile = result.to_profile("guessed")
    assert profile.targets[0] == "smtp://mx.example.test:25"
    assert DOMAIN in profile.notes


async def test_the_bare_domain_is_the_last_guess(dnsserver: DnsServer) -> None:
    dnsserver.add(DOMAIN, "A", "127.0.0.1")
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base="http://127.0.0.1:9", timeout=2
    )
    assert result.only_guesses
    assert len(result.found) == 7
    assert {f.endpoint.host for f in result.found} == {DOMAIN}


async def test_nothing_found_but_the_network_answered(dnsserver: DnsServer) -> None:
    result = await discover(
        "nobody.example.test",
        resolver=dnsserver.resolver(),
        http_base="http://127.0.0.1:9",
        timeout=2,
    )
    assert result.found == []
    assert result.step is None
    assert result.domain_missing
    assert [a.step for a in result.attempts] == sorted(
        (a.step for a in result.attempts), key=STEPS.index
    )


async def test_no_network_fails_fast_with_a_clear_message() -> None:
    # Nothing listens on these loopback ports: DNS queries go unanswered and
    # HTTP connections are refused, as when the network is down.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = 9
    started = time.monotonic()
    with pytest.raises(DiscoveryError, match="no network"):
        await discover(
            DOMAIN, resolver=resolver, http_base="http://127.0.0.1:9", timeout=0.5
        )
    assert time.monotonic() - started < 1.5


async def test_a_slow_web_server_costs_only_the_timeout(
    http: HttpServer, dnsserver: DnsServer
) -> None:
    http.serve(f"/autoconfig.{DOMAIN}/mail/config-v1.1.xml", AUTOCONFIG, delay=3)
    dnsserver.add(f"_imaps._tcp.{DOMAIN}", "SRV", "0 0 993 imap.example.test.")
    started = time.monotonic()
    result = await discover(
        DOMAIN, resolver=dnsserver.resolver(), http_base=http.base, timeout=0.5
    )
    assert time.monotonic() - started < 2.5
    assert result.step == "srv"
    assert any("timed out" in a.outcome for a in result.attempts)


def test_parse_autoconfig_unit_cases() -> None:
    found = parse_autoconfig(AUTOCONFIG, DOMAIN, "test")
    assert [f.endpoint.service for f in found] == ["imaps", "pop3", "submission"]
    smtp25 = AUTOCONFIG.replace(b"<port>587</port>", b"<port>25</port>")
    assert parse_autoconfig(smtp25, DOMAIN, "t")[2].endpoint.key == (
        "smtp://smtp.example.test:25"
    )
    local = AUTOCONFIG.replace(b"imap.%EMAILDOMAIN%", b"%EMAILLOCALPART%.example.test")
    assert [f.endpoint.service for f in parse_autoconfig(local, DOMAIN, "t")] == [
        "pop3",
        "submission",
    ]
    with pytest.raises(Exception, match="not an autoconfig"):
        parse_autoconfig(b"<html></html>", DOMAIN, "t")


async def test_a_catalog_name_needs_no_network_and_says_what_was_checked() -> None:
    # Non-exhaustive discovery stops at the catalog: nothing is sent.
    orange = await discover("Orange", use_ispdb=False, timeout=0.5)
    assert orange.provider is not None and orange.provider.id == "orange"
    details = {f.detail for f in orange.found}
    assert "listed, not checked" in details
    assert "documented" not in details
    gmail = await discover("google", use_ispdb=False, timeout=0.5)
    assert gmail.provider is not None and gmail.provider.id == "gmail"
    assert "documented" in {f.detail for f in gmail.found}
