"""The built-in catalog: mail providers people use, scannable by name.

The data lives in `mailtui/data/providers.toml`, one readable file that a
contributor can correct without touching code. This module loads it once,
checks every entry strictly (a typo in the catalog is a bug, so it fails
loudly and the tests catch it), and answers three questions:

- which provider is called this (`find_provider("Google")`), with the
  closest names when none is;
- which provider hosts this mail domain (`provider_for_domain`);
- which provider runs this MX host (`provider_for_mx`), so that a custom
  domain hosted at Gmail or Fastmail is recognised.

A provider scans as the standard endpoints of each of its hosts, so that
the ports it does not document are checked too, plus the endpoints it
documents on other ports (a local bridge on 1143). `Provider.documented`
keeps which ones the provider itself tells clients to use.

Not every entry could be compared with its provider's own page. An entry
says so by having no `checked` date: `Provider.verified` is then False,
and what a user is shown says the values were written from memory, so a
guess is never presented as a fact the provider published.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from mailtui.model import Endpoint, Protocol
from mailtui.targets import (
    PROTOCOL_SERVICES,
    TargetError,
    check_host,
    parse_endpoint,
    standard_endpoints,
)

CATALOG_RESOURCE = "providers.toml"
"""The catalog's file name in the `mailtui.data` package."""

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

_HOST_KEYS: dict[str, Protocol] = {
    "smtp": Protocol.SMTP,
    "pop": Protocol.POP3,
    "imap": Protocol.IMAP,
    "sieve": Protocol.SIEVE,
}

_KEYS = {
    "id",
    "name",
    "aliases",
    "domains",
    "mx",
    "documented",
    "standard",
    "source",
    "checked",
    "notes",
    *_HOST_KEYS,
}


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry."""


class UnknownName(TargetError, LookupError):
    """No provider or profile has that name; the message offers the closest."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []
        """The closest known names, best first."""


def name_key(name: str) -> str:
    """How names are compared: case, spaces, dots and hyphens do not count."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@dataclass(frozen=True)
class Provider:
    """One catalog entry: a provider's hosts and what it documents."""

    id: str
    name: str
    hosts: tuple[tuple[Protocol, str], ...]
    """The provider's host for each protocol it offers."""
    documented: tuple[Endpoint, ...]
    """The endpoints the provider tells mail clients to use."""
    source: str
    """Where the values come from: an https:// address once checked."""
    checked: date | None
    """When the values were last compared with `source`; None if never."""
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    mx: tuple[str, ...] = ()
    standard: bool = True
    """False when only the documented endpoints make sense (a local bridge)."""
    notes: str = ""

    @property
    def label(self) -> str:
        """The label its endpoints carry in a scan."""
        return f"provider:{self.id}"

    @property
    def verified(self) -> bool:
        """True when the values were compared with the provider's page."""
        return self.checked is not None

    @property
    def provenance(self) -> str:
        """How far to trust the values, in a few words for people."""
        if self.checked is None:
            return "not checked against the provider's documentation"
        return f"checked {self.checked.isoformat()}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name it answers to: the id, then the aliases."""
        return (self.id, *self.aliases)

    def host(self, protocol: Protocol) -> str | None:
        """The provider's host for `protocol`, if it offers that protocol."""
        return dict(self.hosts).get(protocol)

    def endpoints(self) -> list[Endpoint]:
        """What `mailtui scan ID` probes: standard ports, then documented ones."""
        endpoints: list[Endpoint] = []
        if self.standard:
            for protocol, host in self.hosts:
                endpoints += standard_endpoints(
                    host, PROTOCOL_SERVICES[protocol], label=self.label
                )
        endpoints += self.documented
        return list(dict.fromkeys(endpoints))

    def is_documented(self, endpoint: Endpoint) -> bool:
        """True when the provider itself lists this service, host and port."""
        return any(
            (d.service, d.host, d.port)
            == (endpoint.service, endpoint.host, endpoint.port)
            for d in self.documented
        )


@functools.cache
def _catalog() -> tuple[Provider, ...]:
    text = (
        resources.files("mailtui.data")
        .joinpath(CATALOG_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return tuple(parse_catalog(text))


def load_catalog() -> list[Provider]:
    """Every provider of the built-in catalog, in the file's order."""
    return list(_catalog())


def parse_catalog(text: str) -> list[Provider]:
    """Parse and check catalog TOML; raise `CatalogError` on any defect."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog is not valid TOML: {exc}") from None
    if set(data) != {"provider"} or not isinstance(data["provider"], list):
        raise CatalogError("catalog must hold only [[provider]] tables")
    providers = [
        _parse_entry(entry, index) for index, entry in enumerate(data["provider"])
    ]
    _check_unique(providers)
    return providers


def _parse_entry(entry: Any, index: int) -> Provider:
    where = f"provider #{index + 1}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: not a table")
    where = f"provider {entry.get('id', f'#{index + 1}')!r}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")

    def text(key: str, *, required: bool = True) -> str:
        value = entry.get(key, None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise CatalogError(f"{where}: {key!r} must be a non-empty string")
        return value

    def strings(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{where}: {key!r} must be a list of strings")
        return tuple(value)

    provider_id = text("id")
    if not _ID.match(provider_id):
        raise CatalogError(f"{where}: id must be lower-case letters, digits, '-'")
    try:
        # No date at all is how an entry admits it was never checked.
        checked = date.fromisoformat(text("checked")) if "checked" in entry else None
        hosts = tuple(
            (protocol, check_host(text(key)))
            for key, protocol in _HOST_KEYS.items()
            if key in entry
        )
        domains = tuple(check_host(d) for d in strings("domains"))
        mx = tuple(check_host(m) for m in strings("mx"))
        documented = tuple(
            _documented(spec, f"provider:{provider_id}")
            for spec in strings("documented")
        )
    except (TargetError, ValueError) as exc:
        raise CatalogError(f"{where}: {exc}") from None
    standard = entry.get("standard", True)
    if not isinstance(standard, bool):
        raise CatalogError(f"{where}: 'standard' must be true or false")
    provider = Provider(
        id=provider_id,
        name=text("name"),
        hosts=hosts,
        documented=documented,
        source=text("source"),
        checked=checked,
        aliases=strings("aliases"),
        domains=domains,
        mx=mx,
        standard=standard,
        notes=text("notes", required=False),
    )
    _check_entry(provider, where)
    return provider


def _documented(spec: str, label: str) -> Endpoint:
    if "://" not in spec:
        raise TargetError(f"documented endpoint {spec!r} needs SERVICE://HOST:PORT")
    (endpoint,) = parse_endpoint(spec, label=label)
    return endpoint


def _check_entry(provider: Provider, where: str) -> None:
    if not provider.documented:
        raise CatalogError(f"{where}: documents no endpoint")
    if provider.verified and not provider.source.startswith("https://"):
        raise CatalogError(f"{where}: a checked entry cites its source as https://")
    if provider.standard and not provider.hosts:
        raise CatalogError(f"{where}: names no host (or set standard = false)")
    for endpoint in provider.documented:
        host = provider.host(endpoint.protocol)
        if provider.standard and host != endpoint.host:
            raise CatalogError(
                f"{where}: documented {endpoint.key} is not on its "
                f"{endpoint.protocol} host {host!r}"
            )


def _check_unique(providers: list[Provider]) -> None:
    """No two entries may share a name, a domain or an MX suffix."""
    ids = [p.id for p in providers]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise CatalogError(f"more than one provider has the id {repeated[0]!r}")
    for what, values in (
        ("name", lambda p: [name_key(n) for n in p.names]),
        ("domain", lambda p: list(p.domains)),
        ("mx suffix", lambda p: list(p.mx)),
    ):
        owner: dict[str, str] = {}
        for provider in providers:
            for value in values(provider):
                if value in owner and owner[value] == provider.id:
                    raise CatalogError(
                        f"{provider.id!r} lists {what} {value!r} twice "
                        "(names compare without case, spaces, dots, hyphens)"
                    )
                if value in owner:
                    raise CatalogError(
                        f"{what} {value!r} belongs to both {owner[value]!r} "
                        f"and {provider.id!r}"
                    )
                owner[value] = provider.id


@functools.cache
def _index() -> dict[str, Provider]:
    return {name_key(n): p for p in _catalog() for n in p.names}


def close_names(name: str, candidates: dict[str, str], limit: int = 3) -> list[str]:
    """The candidates' display names closest to `name`.

    Args:
        name: what the user typed.
        candidates: compared key -> the name to show for it.
        limit: at most this many.
    """
    key = name_key(name)
    hits = difflib.get_close_matches(key, list(candidates), n=limit * 2, cutoff=0.6)
    # A typed prefix ("micro") is a strong hint that difflib ranks low.
    prefixed = [k for k in candidates if key and k.startswith(key)]
    shown = [candidates[k] for k in [*prefixed, *hits]]
    return list(dict.fromkeys(shown))[:limit]


def find_provider(name: str) -> Provider:
    """The provider called `name` (its id or an alias, any case).

    Raises:
        UnknownName: with the closest names in its message.
    """
    provider = _index().get(name_key(name))
    if provider is not None:
        return provider
    suggestions = close_names(name, {k: p.id for k, p in _index().items()})
    raise UnknownName(unknown_message("provider", name, suggestions), suggestions)


def unknown_message(what: str, name: str, suggestions: list[str]) -> str:
    """One line saying `name` is unknown, with the closest names if any."""
    if suggestions:
        return f"no {what} named {name!r}; did you mean {', '.join(suggestions)}?"
    return f"no {what} named {name!r}; `mailtui profile list --catalog` lists them"


def provider_for_domain(domain: str) -> Provider | None:
    """The provider that hosts addresses at exactly this mail domain."""
    wanted = domain.strip().rstrip(".").casefold()
    return next((p for p in _catalog() if wanted in p.domains), None)


def provider_for_mx(mx_host: str) -> Provider | None:
    """The provider whose MX suffix this host name ends with, on a dot."""
    host = mx_host.strip().rstrip(".").casefold()
    for provider in _catalog():
        for suffix in provider.mx:
            if host == suffix or host.endswith("." + suffix):
                return provider
    return None
