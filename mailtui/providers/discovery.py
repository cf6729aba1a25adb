"""Find a mail domain's endpoints the way mail clients do, and say how.

Given `user@example.org` or `example.org`, the steps are tried in the
order mail clients use, and every endpoint keeps the step it came from:

1. the built-in catalog, by mail domain (no network needed);
2. autoconfig files: the domain's own
   (`autoconfig.DOMAIN/mail/config-v1.1.xml`, then
   `DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`), then Thunderbird's
   public ISPDB;
3. RFC 6186 SRV records (and `_submissions._tcp` from RFC 8314, and
   `_sieve._tcp` from RFC 5804);
4. the MX records: a catalog provider recognised from its MX host names,
   else the MX hosts' relay port; and the usual host names (`imap.`,
   `smtp.`, `pop.`, `mail.`) that resolve, marked as guesses.

Normally the first step that answers wins, as in a mail client;
`exhaustive=True` keeps every answer (the first source of an endpoint is
the one shown). The network steps run concurrently, each bounded by the
timeout, so a dead network costs one timeout, and a discovery that reached
neither DNS nor the web raises `DiscoveryError` saying so.

Everything fetched is untrusted: autoconfig documents are capped in size
and refused if they declare a DOCTYPE (the door to entity expansion), host
names and ports are validated like user input, and nothing is evaluated.
The user's address is never sent anywhere: only the domain is used.

Tests point the two network clients at loopback: `resolver` is any
dnspython resolver (its nameservers and port are used), and `http_base`
replaces `https://HOST` in every URL with `http_base/HOST`, so one local
HTTP server can play every host.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from mailtui import __version__
from mailtui.model import SERVICES, Endpoint
from mailtui.providers.catalog import (
    Provider,
    provider_for_domain,
    provider_for_mx,
)
from mailtui.providers.profiles import Profile
from mailtui.targets import TargetError, check_host, check_port, standard_endpoints

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024
"""An autoconfig file is a few KiB; a bigger answer is refused unread."""

MAX_SERVERS = 32
"""Server entries read from one autoconfig document."""

ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/{domain}"

SRV_SERVICES: tuple[tuple[str, str], ...] = (
    ("_submissions._tcp", "submissions"),
    ("_submission._tcp", "submission"),
    ("_imaps._tcp", "imaps"),
    ("_imap._tcp", "imap"),
    ("_pop3s._tcp", "pop3s"),
    ("_pop3._tcp", "pop3"),
    ("_sieve._tcp", "sieve"),
)
"""SRV owner-name prefixes, in the order their answers are listed."""

GUESS_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("smtp", ("smtp", "submissions", "submission")),
    ("pop", ("pop3", "pop3s")),
    ("pop3", ("pop3", "pop3s")),
    ("imap", ("imap", "imaps")),
    ("mail", ("smtp", "submissions", "submission", "pop3", "pop3s", "imap", "imaps")),
)
"""The usual host names and the services a guess scans on each."""

NO_SUCH_NAME = "no such name"
"""A DNS attempt's outcome when the name does not exist at all (NXDOMAIN)."""

STEPS = ("catalog", "autoconfig", "ispdb", "srv", "mx", "guess")
"""The steps in the order they take precedence."""

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class DiscoveryError(Exception):
    """Discovery could not run at all (no network, no resolver)."""


@dataclass(frozen=True)
class Found:
    """One endpoint discovered, and where the answer came from."""

    endpoint: Endpoint
    source: str
    """The step and where it looked: "srv _imaps._tcp.example.org"."""
    guess: bool = False
    """True when nothing documented it: a usual host name that resolves."""
    detail: str = ""
    """What the source said beyond the endpoint (e.g. socketType=plain)."""


@dataclass(frozen=True)
class Attempt:
    """One thing tried, and what came of it, for the user to read."""

    step: str
    """catalog, autoconfig, ispdb, srv, mx or guess."""
    where: str
    outcome: str
    ok: bool


@dataclass
class Discovery:
    """What discovery found for a domain, with its sources."""

    query: str
    domain: str
    found: list[Found] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    provider: Provider | None = None
    """The catalog provider that answered, by domain or MX."""
    step: str | None = None
    """The step whose answer was taken; None when nothing was found."""

    def endpoints(self) -> list[Endpoint]:
        """The endpoints found, ready to scan."""
        return [f.endpoint for f in self.found]

    @property
    def domain_missing(self) -> bool:
        """DNS said the domain itself does not exist."""
        return any(
            a.step == "mx"
            and a.where == f"{self.domain} MX"
            and a.outcome == NO_SUCH_NAME
            for a in self.attempts
        )

    @property
    def only_guesses(self) -> bool:
        return bool(self.found) and all(f.guess for f in self.found)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `mailtui discover --json`."""
        return {
            "query": self.query,
            "domain": self.domain,
            "step": self.step,
            "provider": self.provider.id if self.provider else None,
            "found": [
                {
                    "key": f.endpoint.key,
                    "service": f.endpoint.service,
                    "host": f.endpoint.host,
                    "port": f.endpoint.port,
                    "source": f.source,
                    "guess": f.guess,
                    "detail": f.detail,
                }
                for f in self.found
            ],
            "attempts": [
                {"step": a.step, "where": a.where, "outcome": a.outcome, "ok": a.ok}
                for a in self.attempts
            ],
        }

    def to_profile(self, name: str) -> Profile:
        """A profile that scans what was found, noting how it was found."""
        day = datetime.now(UTC).date().isoformat()
        how = self.step or "nothing"
        notes = f"Discovered for {self.domain} by {how} on {day}."
        if self.only_guesses:
            notes += " Guessed host names: nothing documented them."
        return Profile.from_endpoints(name, self.endpoints(), notes=notes)


def domain_of(address_or_domain: str) -> str:
    """The mail domain of an address, or the domain itself, checked."""
    text = address_or_domain.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    domain = text.rpartition("@")[2]
    if not domain:
        raise TargetError(f"no domain in {address_or_domain!r}")
    host = check_host(domain)
    if ":" in host or host.replace(".", "").isdigit():
        # Else autoconfig would fetch https://ADDRESS/ and DNS ask for
        # _imaps._tcp.ADDRESS: nothing a mail client would do.
        raise TargetError(
            f"{domain!r} is an address, not a mail domain: "
            f"scan it with `mailtui scan {domain}`"
        )
    return host


def _listing(provider: Provider, endpoint: Endpoint) -> str:
    """Why the catalog lists an endpoint: the provider documents it (checked,
    or only remembered), or it is a standard port of one of its hosts."""
    if not provider.is_documented(endpoint):
        return "standard port"
    return "documented" if provider.verified else "listed, not checked"


def _catalog_name(name: str) -> Provider | None:
    from mailtui.providers.catalog import find_provider

    try:
        return find_provider(name)
    except LookupError:
        return None


async def discover(
    address_or_domain: str,
    *,
    resolver: dns.resolver.BaseResolver | None = None,
    http_base: str | None = None,
    timeout: float = 5.0,
    exhaustive: bool = False,
    use_ispdb: bool = True,
) -> Discovery:
    """Find the endpoints of a mail address's or domain's provider.

    Args:
        address_or_domain: `user@example.org` or `example.org`.
        resolver: the DNS resolver; the system's when None.
        http_base: replaces `https://HOST` with `http_base/HOST` in every
            URL fetched (for tests on loopback).
        timeout: seconds allowed for each query and each fetch.
        exhaustive: run every step and keep every answer.
        use_ispdb: ask Thunderbird's public ISPDB (which then learns the
            domain).

    Raises:
        TargetError: the input holds no valid domain.
        DiscoveryError: neither DNS nor the web could be reached.
    """
    domain = domain_of(address_or_domain)
    result = Discovery(query=address_or_domain.strip(), domain=domain)

    provider = provider_for_domain(domain)
    if provider is None and "." not in domain:
        # "orange" or "gmail": a catalog name or alias, not a mail domain.
        provider = _catalog_name(domain)
    if provider is None:
        result.attempts.append(Attempt("catalog", domain, "not in the catalog", False))
    else:
        result.attempts.append(
            Attempt("catalog", domain, f"hosted by {provider.name}", True)
        )
        _take(result, "catalog", _provider_found(provider, f"catalog:{provider.id}"))
        result.provider = provider
        if not exhaustive:
            return result

    net = _Network(_async_resolver(resolver, timeout), http_base, timeout)
    steps = await net.run(domain, use_ispdb=use_ispdb)
    # The steps ran side by side; list what they tried in precedence order.
    result.attempts += sorted(net.attempts, key=lambda a: STEPS.index(a.step))
    for step, found, mx_provider in steps:
        if found and (exhaustive or result.step is None):
            _take(result, step, found)
            result.provider = result.provider or mx_provider
    if result.step is None and not net.reached:
        first = next((a.outcome for a in net.attempts if not a.ok), "no answer")
        raise DiscoveryError(
            f"no network: neither DNS nor the web answered for {domain} ({first})"
        )
    return result


def _take(result: Discovery, step: str, found: list[Found]) -> None:
    """Add `found` to the result, keeping the first source of an endpoint."""
    seen = {f.endpoint for f in result.found}
    result.found += [f for f in found if f.endpoint not in seen]
    result.step = result.step or step


def _provider_found(provider: Provider, source: str) -> list[Found]:
    return [
        Found(
            ep,
            source,
            detail=_listing(provider, ep),
        )
        for ep in provider.endpoints()
    ]


def _async_resolver(
    resolver: dns.resolver.BaseResolver | None, timeout: float
) -> dns.asyncresolver.Resolver:
    """An asyncio resolver, copying the settings of the one given."""
    if isinstance(resolver, dns.asyncresolver.Resolver):
        chosen = resolver
    elif resolver is not None:
        chosen = dns.asyncresolver.Resolver(configure=False)
        chosen.nameservers = list(resolver.nameservers)
        chosen.port = resolver.port
    else:
        try:
            chosen = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            raise DiscoveryError(
                f"no network: no DNS resolver configured ({exc})"
            ) from None
    chosen.lifetime = timeout
    chosen.timeout = timeout
    return chosen


# -- The network steps -------------------------------------------------------


class _Network:
    """The DNS and HTTP steps of one discovery, run side by side."""

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        http_base: str | None,
        timeout: float,
    ) -> None:
        self.resolver = resolver
        self.http_base = http_base.rstrip("/") if http_base else None
        self.timeout = timeout
        self.attempts: list[Attempt] = []
        self.reached = False
        """Some server answered, even if only to say "no such name"."""

    async def run(
        self, domain: str, *, use_ispdb: bool
    ) -> list[tuple[str, list[Found], Provider | None]]:
        """Every step's answer, in precedence order."""
        urls = [
            ("autoconfig", f"https://autoconfig.{domain}/mail/config-v1.1.xml"),
            (
                "autoconfig",
                f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
            ),
        ]
        if use_ispdb:
            urls.append(("ispdb", ISPDB_URL.format(domain=domain)))
        fetches = [self._autoconfig(step, url, domain) for step, url in urls]
        try:
            # Each query and fetch has its own limit; this only backs them up.
            async with asyncio.timeout(self.timeout * 3 + 1):
                configs, (srv, mx, guesses) = await asyncio.gather(
                    asyncio.gather(*fetches),
                    asyncio.gather(
                        self._srv(domain), self._mx(domain), self._guesses(domain)
                    ),
                )
        except TimeoutError:
            raise DiscoveryError(f"discovery for {domain} timed out") from None
        # The first autoconfig source that answered is the one a client uses.
        config_step, config = next(
            (
                (step, found)
                for (step, _), found in zip(urls, configs, strict=True)
                if found
            ),
            ("autoconfig", []),
        )
        mx_found, mx_provider, relays = mx
        return [
            (config_step, config, None),
            ("srv", srv, None),
            ("mx", mx_found, mx_provider),
            ("guess", relays + guesses, None),
        ]

    def _note(self, step: str, where: str, outcome: str, ok: bool) -> None:
        log.info("discover %s %s: %s", step, where, outcome)
        self.attempts.append(Attempt(step, where, outcome, ok))

    # HTTP ------------------------------------------------------------------

    def _url(self, url: str) -> str:
        if self.http_base is None:
            return url
        parts = urlsplit(url)
        rest = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{self.http_base}/{parts.netloc}{rest}"

    async def _autoconfig(self, step: str, url: str, domain: str) -> list[Found]:
        fetched = self._url(url)
        try:
            body = await asyncio.wait_for(
                asyncio.to_thread(fetch, fetched, self.timeout, self.http_base is None),
                self.timeout + 1,
            )
        except FetchError as exc:
            self.reached = self.reached or exc.reached
            self._note(step, fetched, str(exc), False)
            return []
        except TimeoutError:
            self._note(step, fetched, "timed out", False)
            return []
        self.reached = True
        try:
            found = parse_autoconfig(body, domain, f"{step} {fetched}")
        except AutoconfigError as exc:
            self._note(step, fetched, str(exc), False)
            return []
        outcome = f"{len(found)} endpoints" if found else "no usable server"
        self._note(step, fetched, outcome, bool(found))
        return found

    # DNS -------------------------------------------------------------------

    async def _query(self, step: str, name: str, rdtype: str) -> list[Any]:
        """The records, or [] after noting why there are none."""
        try:
            answer = await self.resolver.resolve(
                dns.name.from_text(name), rdtype, lifetime=self.timeout
            )
        except dns.resolver.NXDOMAIN:
            self.reached = True
            self._note(step, f"{name} {rdtype}", NO_SUCH_NAME, False)
            return []
        except dns.resolver.NoAnswer:
            self.reached = True
            self._note(step, f"{name} {rdtype}", "no record", False)
            return []
        except dns.resolver.LifetimeTimeout:
            self._note(step, f"{name} {rdtype}", "DNS timed out", False)
            return []
        except dns.exception.DNSException as exc:
            self._note(step, f"{name} {rdtype}", _dns_error(exc), False)
            return []
        self.reached = True
        return list(answer)

    async def _srv(self, domain: str) -> list[Found]:
        answers = await asyncio.gather(
            *(
                self._query("srv", f"{prefix}.{domain}", "SRV")
                for prefix, _ in SRV_SERVICES
            )
        )
        found: list[Found] = []
        for (prefix, service), records in zip(SRV_SERVICES, answers, strict=True):
            where = f"{prefix}.{domain}"
            for record in sorted(records, key=lambda r: (r.priority, -r.weight)):
                if record.target == dns.name.root:
                    # RFC 6186: a target of "." says the service is not offered.
                    self._note("srv", where, "service not offered", False)
                    continue
                endpoint = _endpoint(
                    service,
                    record.target.to_text(omit_final_dot=True),
                    record.port,
                    domain,
                )
                if endpoint is None:
                    self._note("srv", where, "invalid target or port", False)
                    continue
                found.append(Found(endpoint, f"srv {where}"))
                self._note("srv", where, endpoint.key, True)
        return found

    async def _mx(
        self, domain: str
    ) -> tuple[list[Found], Provider | None, list[Found]]:
        """Endpoints of a provider known by its MX, and the relay endpoints."""
        records = await self._query("mx", domain, "MX")
        hosts = []
        for record in sorted(records, key=lambda r: r.preference):
            try:
                hosts.append(check_host(record.exchange.to_text(omit_final_dot=True)))
            except TargetError:
                self._note("mx", domain, "invalid MX host", False)
        for host in hosts:
            provider = provider_for_mx(host)
            if provider is not None:
                self._note("mx", domain, f"{host} is {provider.name}", True)
                source = f"mx {host} -> catalog:{provider.id}"
                return _provider_found(provider, source), provider, []
        relays = [
            Found(Endpoint("smtp", host, 25, label=_label(domain)), f"mx {domain}")
            for host in hosts
        ]
        if hosts:
            self._note("mx", domain, ", ".join(hosts), True)
        return [], None, relays

    async def _resolves(self, name: str) -> bool:
        answers = await asyncio.gather(
            self._query("guess", name, "A"), self._query("guess", name, "AAAA")
        )
        return any(answers)

    async def _guesses(self, domain: str) -> list[Found]:
        # The bare domain is asked at the same time, though used only when
        # no usual name resolves, so a dead resolver costs one timeout.
        names = [f"{prefix}.{domain}" for prefix, _ in GUESS_PREFIXES]
        *resolved, bare = await asyncio.gather(
            *(self._resolves(n) for n in [*names, domain])
        )
        found: list[Found] = []
        for (_, services), name, ok in zip(
            GUESS_PREFIXES, names, resolved, strict=True
        ):
            if ok:
                found += _guessed(name, services, domain)
        if not found and bare:
            found = _guessed(domain, GUESS_PREFIXES[-1][1], domain)
        return found


def _guessed(host: str, services: tuple[str, ...], domain: str) -> list[Found]:
    return [
        Found(ep, f"guess: {host} resolves", guess=True)
        for ep in standard_endpoints(host, services, label=_label(domain))
    ]


def _label(domain: str) -> str:
    return f"discovered:{domain}"


def _endpoint(service: str, host: str, port: Any, domain: str) -> Endpoint | None:
    """An endpoint from untrusted text, or None when it is not valid."""
    try:
        return Endpoint(
            service, check_host(host), check_port(port), label=_label(domain)
        )
    except TargetError:
        return None


def _dns_error(exc: Exception) -> str:
    if isinstance(exc, dns.resolver.NoNameservers):
        return "no DNS server answered"
    return type(exc).__name__


# -- HTTP fetch (runs in a worker thread) ------------------------------------


class FetchError(Exception):
    """A fetch failed; `reached` tells whether a server answered at all."""

    def __init__(self, message: str, *, reached: bool = False) -> None:
        super().__init__(message)
        self.reached = reached


class _SameScheme(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, never from https down to http."""

    max_redirections = 3

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme != urlsplit(req.full_url).scheme:
            raise FetchError(
                f"refused redirect to {urlsplit(newurl).scheme}", reached=True
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, timeout: float, use_proxies: bool = True) -> bytes:
    """GET `url`, at most `MAX_DOCUMENT_BYTES`, within about `timeout` seconds.

    Raises:
        FetchError: with a one-line reason.
    """
    handlers: list[Any] = [_SameScheme()]
    if not use_proxies:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": f"mailtui/{__version__}",
            "Accept": "application/xml, text/xml",
        },
    )
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > MAX_DOCUMENT_BYTES:
                raise FetchError(f"refused: {length} bytes announced", reached=True)
            body = b""
            # Read in pieces so a server that trickles bytes is cut off too.
            while len(body) <= MAX_DOCUMENT_BYTES:
                if time.monotonic() > deadline:
                    raise FetchError("timed out reading", reached=True)
                piece = response.read(16_384)
                if not piece:
                    break
                body += piece
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code}", reached=True) from None
    except urllib.error.URLError as exc:
        raise FetchError(_reason(exc.reason)) from None
    except TimeoutError:
        raise FetchError("timed out") from None
    except OSError as exc:
        raise FetchError(_reason(exc)) from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FetchError(
            f"refused: larger than {MAX_DOCUMENT_BYTES} bytes", reached=True
        )
    return body


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)[:200]


# -- Autoconfig documents ----------------------------------------------------


class AutoconfigError(Exception):
    """An autoconfig document was refused or could not be read."""


_KINDS = {
    "imap": ("imaps", "imap"),
    "pop3": ("pop3s", "pop3"),
    "smtp": ("submissions", "submission"),
}


def parse_autoconfig(body: bytes, domain: str, source: str) -> list[Found]:
    """The endpoints an autoconfig (config-v1.1) document lists.

    Raises:
        AutoconfigError: too big, declares a DOCTYPE, malformed, or not a
            clientConfig document.
    """
    if len(body) > MAX_DOCUMENT_BYTES:
        raise AutoconfigError(f"refused: larger than {MAX_DOCUMENT_BYTES} bytes")
    if _DECLARATION.search(body):
        raise AutoconfigError("refused: the document declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise AutoconfigError(f"malformed XML: {exc}") from None
    if root.tag != "clientConfig":
        raise AutoconfigError(f"not an autoconfig document (root <{root.tag[:40]}>)")
    servers = [
        s
        for provider in root.findall("emailProvider")
        for s in [
            *provider.findall("incomingServer"),
            *provider.findall("outgoingServer"),
        ]
    ]
    found: list[Found] = []
    for server in servers[:MAX_SERVERS]:
        entry = _server(server, domain, source)
        if entry is not None and entry.endpoint not in {f.endpoint for f in found}:
            found.append(entry)
    return found


def _server(server: ET.Element, domain: str, source: str) -> Found | None:
    kind = (server.get("type") or "").strip().lower()
    if kind not in _KINDS:
        return None  # exchange, jmap, ews...: nothing mailtui probes
    host = (server.findtext("hostname") or "").strip().replace("%EMAILDOMAIN%", domain)
    socket_type = (server.findtext("socketType") or "").strip().upper()
    port = (server.findtext("port") or "").strip()
    if "%" in host:
        return None  # a placeholder that needs the user's address
    implicit, plain = _KINDS[kind]
    service = implicit if socket_type == "SSL" else plain
    if service == "submission" and port == "25":
        service = "smtp"
    if not port:
        port = str(SERVICES[service].port)
    endpoint = _endpoint(service, host, port, domain)
    if endpoint is None:
        return None
    detail = f"socketType={socket_type or 'unset'}"
    return Found(endpoint, source, detail=detail)
