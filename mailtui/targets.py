"""Turn what a user typed into endpoints, or say clearly what is wrong.

Three spellings are accepted, and may be mixed:

- a bare host (`mail.example.org`, `192.0.2.1`, `[2001:db8::1]`): the seven
  standard endpoints of that host;
- `SERVICE://HOST[:PORT]` with an IANA service name, which fixes protocol
  and security whatever the port (`imaps://mail.example.org:10993`);
- per-protocol hosts (`--smtp`, `--imap`, `--pop`): the standard endpoints
  of that protocol on that host.

Every error is a `TargetError` whose message fits on one line and names the
offending text, so the CLI and the app's form can show it as it is.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from mailtui.model import SERVICES, STANDARD_SERVICES, Endpoint, Protocol

PROTOCOL_SERVICES: dict[Protocol, tuple[str, ...]] = {
    Protocol.SMTP: ("smtp", "submissions", "submission"),
    Protocol.POP3: ("pop3", "pop3s"),
    Protocol.IMAP: ("imap", "imaps"),
    Protocol.SIEVE: ("sieve",),
}
"""The standard endpoints of one protocol, for `--smtp HOST` and friends."""

# A DNS name: labels of letters, digits, hyphens and underscores (seen in
# SRV-style names), not starting or ending with a hyphen.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class TargetError(ValueError):
    """User input that does not name an endpoint; the message says why."""


def check_host(host: str) -> str:
    """Return `host` normalised (IPv6 without brackets, name lower-cased)."""
    text = host.strip()
    if not text:
        raise TargetError("empty host name")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        try:
            return str(ipaddress.IPv6Address(inner))
        except ValueError:
            raise TargetError(f"not an IPv6 address: {host!r}") from None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if any(ch.isspace() for ch in text):
        raise TargetError(f"a host name cannot contain spaces: {host!r}")
    name = text.rstrip(".")
    if len(name) > 253:
        raise TargetError(f"host name longer than 253 characters: {host[:40]!r}…")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetError(f"not a valid host name: {host!r}") from None
    if not all(_LABEL.match(label) for label in ascii_name.split(".")):
        raise TargetError(f"not a valid host name: {host!r}")
    if ascii_name.isdigit() and int(ascii_name) <= 65535:
        raise TargetError(
            f"{host!r} is a port, not a host: name the host, as in "
            f"imaps://HOST:{ascii_name}"
        )
    # No top-level domain is all digits (RFC 3696 §2), and the system resolver
    # reads such names, and hex ones, as shorthand IPv4 ('993' as 0.0.3.225,
    # '0x7f000001' as 127.0.0.1): a typo would be scanned at an address nobody
    # typed.
    if ascii_name.rpartition(".")[2].isdigit() or _is_shorthand_ipv4(ascii_name):
        raise TargetError(f"not a valid host name or IP address: {host!r}")
    return ascii_name.lower()


def _is_shorthand_ipv4(name: str) -> bool:
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def check_port(text: str | int) -> int:
    """Return the port as an int in 1..65535, or raise TargetError."""
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise TargetError(f"port is not a number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise TargetError(f"port out of range 1-65535: {port}")
    return port


def _split_host_port(text: str) -> tuple[str, str | None]:
    """Split `host[:port]`, where an IPv6 host must be in brackets."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise TargetError(f"unclosed '[' in {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise TargetError(f"unexpected text after ']' in {text!r}")
        return host, rest[1:]
    if text.count(":") > 1:
        # A bare IPv6 literal, which cannot carry a port.
        return text, None
    host, sep, port = text.partition(":")
    return host, (port if sep else None)


def parse_endpoint(text: str, *, label: str = "") -> list[Endpoint]:
    """Parse one argument: a bare host or `SERVICE://HOST[:PORT]`."""
    spec = text.strip()
    if not spec:
        raise TargetError("empty target")
    if "://" not in spec:
        if "/" in spec:
            raise TargetError(f"not a host name: {text!r}")
        host, port = _split_host_port(spec)
        if port is not None:
            raise TargetError(
                f"{text!r}: a port needs a service, as in imaps://{host}:{port}"
            )
        return standard_endpoints(host, label=label)

    scheme, _, rest = spec.partition("://")
    service = scheme.lower()
    if service not in SERVICES:
        known = ", ".join(SERVICES)
        raise TargetError(f"unknown service {scheme!r} (known: {known})")
    rest = rest.rstrip("/")
    if "/" in rest or "@" in rest or "?" in rest:
        raise TargetError(f"unexpected path or user in {text!r}")
    if rest.count(":") > 1 and not rest.startswith("["):
        # "::1:993" is itself a valid IPv6 address: refuse to guess.
        raise TargetError(
            f"{text!r}: an IPv6 address needs brackets, as in "
            f"{service}://[{rest}] or {service}://[ADDRESS]:PORT"
        )
    host, port = _split_host_port(rest)
    return [
        Endpoint(
            service=service,
            host=check_host(host),
            port=SERVICES[service].port if port is None else check_port(port),
            label=label,
        )
    ]


def standard_endpoints(
    host: str, services: tuple[str, ...] = STANDARD_SERVICES, *, label: str = ""
) -> list[Endpoint]:
    """The standard endpoints of one host, for the given services."""
    name = check_host(host)
    return [Endpoint(s, name, SERVICES[s].port, label=label) for s in services]


def parse_targets(
    args: list[str],
    *,
    smtp: str | None = None,
    imap: str | None = None,
    pop: str | None = None,
    sieve: str | None = None,
) -> list[Endpoint]:
    """Every endpoint the user named, in order, without duplicates."""
    endpoints: list[Endpoint] = []
    for arg in args:
        endpoints += parse_endpoint(arg)
    for protocol, host in (
        (Protocol.SMTP, smtp),
        (Protocol.POP3, pop),
        (Protocol.IMAP, imap),
        (Protocol.SIEVE, sieve),
    ):
        if host:
            endpoints += standard_endpoints(host, PROTOCOL_SERVICES[protocol])
    if not endpoints:
        raise TargetError("nothing to scan: give a host or SERVICE://HOST[:PORT]")
    return list(dict.fromkeys(endpoints))


def parse_resolve(spec: str) -> tuple[str, str]:
    """Parse curl-style `HOST:ADDRESS` (the address may be IPv6)."""
    host, sep, address = spec.partition(":")
    if not sep or not host or not address:
        raise TargetError(f"--resolve wants HOST:ADDRESS, got {spec!r}")
    address = address.strip()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise TargetError(f"--resolve {spec!r}: {address!r} is not an IP") from None
    return check_host(host), str(ip)


def pin(endpoints: list[Endpoint], resolve: dict[str, str]) -> list[Endpoint]:
    """Attach `--resolve` addresses to the endpoints whose host they name."""
    pinned: list[Endpoint] = []
    for ep in endpoints:
        address = resolve.get(ep.host, ep.address)
        pinned.append(
            Endpoint(ep.service, ep.host, ep.port, address=address, label=ep.label)
        )
    return pinned
