"""From a scan to "what do I type in my mail client?".

For each role a mail client has (reading mail over IMAP or POP3, sending it
over SMTP submission) `choose()` picks the safest endpoint that the scan
proved to work, and says why:

1. implicit TLS with a clean verdict (RFC 8314 prefers it);
2. else STARTTLS, only where the scan saw the handshake complete, to be
   *required* by the client so it can never fall back to plaintext;
3. else an encrypted endpoint the rules call deprecated, with a warning;
4. never plaintext, never an endpoint whose certificate a client would
   refuse, never port 25 (server-to-server relay).

The renderers then write that choice in each client's own syntax:
Thunderbird's autoconfig XML, `.fetchmailrc`, `.msmtprc`, `.mbsyncrc`,
neomutt, and a plain table to copy into a phone. Every file carries the
reasons as comments and enforces certificate checking.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from mailtui.findings import VERDICT_ORDER
from mailtui.model import ProbeResult, Protocol, Scan, Security, State, Verdict
from mailtui.reports import facts
from mailtui.reports.facts import inert

ROLES = {
    "imap": (Protocol.IMAP, "IMAP", "incoming mail"),
    "pop3": (Protocol.POP3, "POP3", "incoming mail"),
    "smtp": (Protocol.SMTP, "SMTP", "outgoing mail"),
}
"""Role -> (protocol, its name, what it is for), in the order clients list them."""

USABLE = (Verdict.RECOMMENDED, Verdict.ACCEPTABLE, Verdict.DEPRECATED)


@dataclass(frozen=True)
class Choice:
    """The endpoint picked for one role, and why it was picked."""

    role: str
    host: str
    port: int
    security: Security
    verdict: Verdict
    tls_version: str | None
    why: str

    @property
    def implicit(self) -> bool:
        return self.security is Security.TLS


@dataclass
class ClientSettings:
    """The choice for each role, or why there is none."""

    target: str
    valid_as_of: str
    domain: str
    choices: dict[str, Choice] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    """Role -> why no endpoint can be recommended for it."""

    @property
    def incoming(self) -> list[Choice]:
        return [self.choices[r] for r in ("imap", "pop3") if r in self.choices]


def _works(r: ProbeResult) -> bool:
    """The scan saw this endpoint encrypt the way its service says."""
    if r.state is not State.OPEN or r.mismatch or r.verdict not in USABLE:
        return False
    if r.endpoint.security is Security.TLS:
        return r.tls is not None
    st = r.starttls
    return bool(st and st.completed and not st.injected)


def _where(r: ProbeResult) -> str:
    return f"{r.endpoint.host}:{r.endpoint.port}"


def _rank(r: ProbeResult) -> tuple[int, int, int]:
    standard = 0 if r.endpoint.port == r.endpoint.spec.port else 1
    implicit = 0 if r.endpoint.security is Security.TLS else 1
    return VERDICT_ORDER.index(r.verdict), implicit, standard


def _lc(text: str) -> str:
    """`text` with a lower-case first letter, to follow a colon."""
    return text[:1].lower() + text[1:]


def _why(best: ProbeResult, others: list[ProbeResult], name: str) -> str:
    rejected = "; ".join(f"{_where(r)}: {_lc(facts.recommendation(r))}" for r in others)
    if best.endpoint.security is Security.TLS:
        text = (
            f"{name} with implicit TLS on {_where(best)}: encrypted from the "
            "first byte, as RFC 8314 prefers."
        )
    else:
        implicit = [r for r in others if r.endpoint.security is Security.TLS]
        because = (
            "the implicit-TLS ones are worse"
            if any(_works(r) for r in implicit)
            else f"no implicit-TLS {name} endpoint works"
        )
        text = (
            f"{name} with STARTTLS on {_where(best)}, because {because}. The "
            "scan saw STARTTLS complete; the client must require it, never use "
            "it only if available (RFC 8314 §4.1)."
        )
    if best.verdict is Verdict.DEPRECATED:
        text += (
            f" Warning: it works but is deprecated ({facts.reason(best)}); "
            "nothing better was found, and clients may refuse it one day."
        )
    elif facts.reason(best) and best.verdict is not Verdict.RECOMMENDED:
        text += f" Note: {_lc(facts.recommendation(best))}."
    if rejected:
        text += f" Not chosen: {rejected}."
    return inert(text)


def _domain(scan: Scan) -> str:
    hosts = [r.endpoint.host for r in scan.results]
    if not hosts:
        return scan.target or "example.org"
    labels = hosts[0].split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else hosts[0]


def choose(scan: Scan) -> ClientSettings:
    """The safest working endpoint of each role in `scan`."""
    settings = ClientSettings(scan.target, facts.valid_as_of(scan), _domain(scan))
    for role, (protocol, name, _) in ROLES.items():
        candidates = [
            r
            for r in scan.results
            if r.endpoint.protocol is protocol and r.endpoint.spec.for_clients
        ]
        working = sorted((r for r in candidates if _works(r)), key=_rank)
        if not working:
            if candidates:
                settings.missing[role] = inert(
                    f"No {name} endpoint is safe to use: "
                    + "; ".join(
                        f"{_where(r)}: {_lc(facts.recommendation(r))}"
                        for r in candidates
                    )
                    + ". Plaintext is never an option."
                )
            else:
                settings.missing[role] = f"No {name} endpoint was scanned."
            continue
        best = working[0]
        others = [r for r in candidates if r is not best]
        settings.choices[role] = Choice(
            role=role,
            host=best.endpoint.host,
            port=best.endpoint.port,
            security=best.endpoint.security,
            verdict=best.verdict,
            tls_version=best.tls.version if best.tls else None,
            why=_why(best, others, name),
        )
    return settings


# -- Renderers ---------------------------------------------------------------


def _comment_lines(settings: ClientSettings, prefix: str) -> list[str]:
    lines = [
        f"Mail settings for {settings.target} made by mailtui from a scan; "
        f"valid as of {settings.valid_as_of}.",
    ]
    for role in ROLES:
        if role in settings.choices:
            lines.append(settings.choices[role].why)
        else:
            lines.append(settings.missing[role])
    wrapped: list[str] = []
    for line in lines:
        wrapped += _wrap(inert(line), 76 - len(prefix))
    return [f"{prefix}{line}".rstrip() for line in wrapped]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def _slug(settings: ClientSettings) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", settings.domain).strip("-") or "mail"


def thunderbird(settings: ClientSettings, user: str | None = None) -> str:
    """A Thunderbird autoconfig file (clientConfig version 1.1)."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=settings.domain)
    text = "\n".join(_comment_lines(settings, "     "))
    while "--" in text:  # forbidden inside an XML comment
        text = text.replace("--", "- -")
    provider.append(ET.Comment(f"\n{text}\n    "))
    ET.SubElement(provider, "domain").text = settings.domain
    ET.SubElement(provider, "displayName").text = settings.target or settings.domain
    ET.SubElement(provider, "displayShortName").text = settings.domain
    servers = [(c, "incomingServer", c.role) for c in settings.incoming]
    if "smtp" in settings.choices:
        servers.append((settings.choices["smtp"], "outgoingServer", "smtp"))
    for choice, tag, kind in servers:
        server = ET.SubElement(provider, tag, type=kind)
        ET.SubElement(server, "hostname").text = choice.host
        ET.SubElement(server, "port").text = str(choice.port)
        ET.SubElement(server, "socketType").text = (
            "SSL" if choice.implicit else "STARTTLS"
        )
        ET.SubElement(server, "username").text = user or "%EMAILADDRESS%"
        # The password travels only inside the TLS the socketType enforces.
        ET.SubElement(server, "authentication").text = "password-cleartext"
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _user(settings: ClientSettings, user: str | None) -> str:
    return user or f"you@{settings.domain}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _arg(text: str) -> str:
    """One msmtp or mbsync argument: bare when it can be, quoted otherwise
    (both read "..." with backslash escapes; a space or # would split or
    end the line)."""
    return text if re.fullmatch(r'[^\s"\\#]+', text) else _quoted(text)


def _mutt_quoted(text: str) -> str:
    # Inside double quotes neomutt still runs `commands` and expands $names.
    return '"' + re.sub(r'([\\"`$])', r"\\\1", text) + '"'


def _min_tls(choice: Choice) -> str:
    """fetchmail's floor: TLS 1.2, lowered only to what the server proved."""
    floors = {"TLSv1": "TLS1+", "TLSv1.1": "TLS1.1+"}
    return floors.get(choice.tls_version or "", "TLS1.2+")


def fetchmail(settings: ClientSettings, user: str | None = None) -> str:
    """A `.fetchmailrc` that always encrypts and always checks the certificate."""
    out = _comment_lines(settings, "# ")
    incoming = settings.incoming
    if not incoming:
        return "\n".join([*out, "# Nothing to fetch from: no safe endpoint."]) + "\n"
    c = incoming[0]
    proto = "IMAP" if c.role == "imap" else "POP3"
    out += [
        "",
        "# 'ssl' wraps the connection in TLS from the start (implicit TLS);",
        "# without it, fetchmail 6.4.2 and later given 'sslproto' insist on",
        "# STARTTLS and refuse to go on in plaintext. 'sslcertck' makes a",
        "# certificate that does not verify a hard error.",
        f"poll {c.host} protocol {proto} service {c.port}",
        f"    user {_quoted(_user(settings, user))}",
        f"    {'ssl ' if c.implicit else ''}sslcertck sslproto '{_min_tls(c)}'",
    ]
    return "\n".join(out) + "\n"


def msmtp(settings: ClientSettings, user: str | None = None) -> str:
    """An `.msmtprc` account for sending, TLS enforced and verified."""
    out = _comment_lines(settings, "# ")
    c = settings.choices.get("smtp")
    if c is None:
        return "\n".join([*out, "# Nowhere safe to send mail through."]) + "\n"
    name = _slug(settings)
    login = _user(settings, user)
    out += [
        "",
        f"account {name}",
        f"host {c.host}",
        f"port {c.port}",
        "tls on",
        f"tls_starttls {'off' if c.implicit else 'on'}",
        "tls_certcheck on",
        "tls_trust_file system",
        "auth on",
        f"user {_arg(login)}",
        f"from {_arg(login)}",
        "",
        f"account default : {name}",
    ]
    return "\n".join(out) + "\n"


def mbsync(settings: ClientSettings, user: str | None = None) -> str:
    """An `.mbsyncrc` (isync) channel syncing IMAP to a local Maildir."""
    out = _comment_lines(settings, "# ")
    c = settings.choices.get("imap")
    if c is None:
        return "\n".join([*out, "# mbsync needs IMAP: none is safe here."]) + "\n"
    name = _slug(settings)
    out += [
        "",
        f"IMAPAccount {name}",
        f"Host {c.host}",
        f"Port {c.port}",
        f"User {_arg(_user(settings, user))}",
        '# PassCmd "your password manager\'s command"',
        "# isync 1.5 and later name this TLSType; both spellings are read.",
        f"SSLType {'IMAPS' if c.implicit else 'STARTTLS'}",
        "# The system trust store checks the certificate; mbsync never skips it.",
        "",
        f"IMAPStore {name}-remote",
        f"Account {name}",
        "",
        f"MaildirStore {name}-local",
        f"Path ~/Mail/{name}/",
        f"Inbox ~/Mail/{name}/INBOX",
        "SubFolders Verbatim",
        "",
        f"Channel {name}",
        f"Far :{name}-remote:",
        f"Near :{name}-local:",
        "Patterns *",
        "Create Near",
        "SyncState *",
    ]
    return "\n".join(out) + "\n"


def neomutt(settings: ClientSettings, user: str | None = None) -> str:
    """neomutt settings: URLs with the right scheme, TLS forced and verified."""
    out = _comment_lines(settings, "# ")
    login = _user(settings, user)
    at = quote(login, safe="")
    incoming = settings.incoming
    if incoming:
        c = incoming[0]
        scheme = {"imap": "imap", "pop3": "pop"}[c.role] + ("s" if c.implicit else "")
        url = f"{scheme}://{at}@{c.host}:{c.port}/"
        if c.role == "imap":
            out += [f'set folder = "{url}"', 'set spoolfile = "+INBOX"']
        else:
            out += [f'set spoolfile = "{url}"']
    else:
        out.append("# No safe incoming endpoint.")
    smtp = settings.choices.get("smtp")
    if smtp:
        scheme = "smtps" if smtp.implicit else "smtp"
        out.append(f'set smtp_url = "{scheme}://{at}@{smtp.host}:{smtp.port}/"')
    else:
        out.append("# No safe outgoing endpoint.")
    out += [
        f"set from = {_mutt_quoted(login)}",
        "# Refuse any connection that does not end up encrypted, use STARTTLS",
        "# where the URL is not imaps/pops/smtps, and check the certificate.",
        "set ssl_force_tls = yes",
        "set ssl_starttls = yes",
        "set ssl_verify_host = yes",
        "set ssl_verify_dates = yes",
    ]
    return "\n".join(out) + "\n"


def phone(settings: ClientSettings, user: str | None = None) -> str:
    """A plain table to copy into a phone's mail app, field by field."""
    out = [
        f"Mail settings for {settings.target} (valid as of {settings.valid_as_of})",
        "",
    ]
    for role, (_, name, purpose) in ROLES.items():
        out.append(f"{purpose.capitalize()} ({name})")
        c = settings.choices.get(role)
        if c is None:
            out += [f"  {line}" for line in _wrap(settings.missing[role], 74)]
            out.append("")
            continue
        security = (
            "SSL/TLS (implicit TLS)"
            if c.implicit
            else "STARTTLS, required (never 'if available' or 'none')"
        )
        out += [
            f"  Server     {c.host}",
            f"  Port       {c.port}",
            f"  Security   {security}",
            f"  User name  {_user(settings, user)}",
            "  Password   your mail password",
            *[f"  {line}" for line in _wrap(c.why, 74)],
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


CLIENTS: dict[str, tuple[Callable[[ClientSettings, str | None], str], str]] = {
    "thunderbird": (thunderbird, "config-v1.1.xml"),
    "fetchmail": (fetchmail, ".fetchmailrc"),
    "msmtp": (msmtp, ".msmtprc"),
    "mbsync": (mbsync, ".mbsyncrc"),
    "neomutt": (neomutt, "neomuttrc"),
    "phone": (phone, "phone.txt"),
}
"""Client name -> (renderer, the usual file name)."""


def render_client(scan: Scan, client: str, user: str | None = None) -> str:
    """The settings for `client` (a key of `CLIENTS`) from `scan`."""
    try:
        renderer, _ = CLIENTS[client]
    except KeyError:
        known = ", ".join(CLIENTS)
        raise ValueError(f"unknown client {client!r} (known: {known})") from None
    return renderer(choose(scan), user)
