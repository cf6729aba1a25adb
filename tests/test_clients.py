"""Mail client settings from real lab scans: the right host, port and TLS mode
for each profile, in files that parse, and never plaintext."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mailtui.cli import main
from mailtui.clients import CLIENTS, choose, render_client
from mailtui.model import ProbeResult, Scan, Security, Verdict
from tests.labscans import broken, find, profile_scan, scan_lab


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_lab()


def endpoint(scan: Scan, host: str, service: str) -> ProbeResult:
    return find(
        scan, lambda r: r.endpoint.host == host and r.endpoint.service == service
    )


def expected(scan: Scan, profile: str) -> dict[str, tuple[ProbeResult, str]]:
    """Role -> (the endpoint that must be chosen, Thunderbird's socketType)."""
    if profile == "broken":
        return {
            # Only TLS 1.0 works for IMAP: deprecated, but encrypted.
            "imap": (broken(scan, "tls10"), "SSL"),
            "pop3": (broken(scan, "weak-key"), "SSL"),
            # Verified STARTTLS beats implicit TLS with a SHA-1 certificate.
            "smtp": (broken(scan, "auth-before-tls"), "STARTTLS"),
        }
    return {
        "imap": (endpoint(scan, f"imap.{profile}.lab.test", "imaps"), "SSL"),
        "pop3": (endpoint(scan, f"pop.{profile}.lab.test", "pop3s"), "SSL"),
        "smtp": (endpoint(scan, f"smtp.{profile}.lab.test", "submissions"), "SSL"),
    }


@pytest.mark.parametrize("profile", ["isp2018", "modern", "broken"])
def test_thunderbird_autoconfig(scan: Scan, profile: str) -> None:
    part = profile_scan(scan, profile)
    root = ET.fromstring(render_client(part, "thunderbird"))
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None
    assert provider.findtext("domain") == f"{profile}.lab.test"
    servers = {
        s.get("type"): s
        for s in [*provider.iter("incomingServer"), *provider.iter("outgoingServer")]
    }
    assert [s.get("type") for s in provider.iter("incomingServer")] == ["imap", "pop3"]
    for role, (r, socket_type) in expected(scan, profile).items():
        server = servers[role]
        assert server.findtext("hostname") == r.endpoint.host
        assert server.findtext("port") == str(r.endpoint.port)
        assert server.findtext("socketType") == socket_type
        assert server.findtext("username") == "%EMAILADDRESS%"


@pytest.mark.parametrize("profile", ["isp2018", "modern", "broken"])
def test_text_clients_carry_host_port_and_mode(scan: Scan, profile: str) -> None:
    part = profile_scan(scan, profile)
    want = expected(scan, profile)
    imap, _ = want["imap"]
    smtp, smtp_mode = want["smtp"]
    implicit_smtp = smtp_mode == "SSL"

    fetchmail = render_client(part, "fetchmail", "me@x.test").splitlines()
    poll = next(i for i, line in enumerate(fetchmail) if line.startswith("poll "))
    assert fetchmail[poll] == (
        f"poll {imap.endpoint.host} protocol IMAP service {imap.endpoint.port}"
    )
    assert fetchmail[poll + 1].strip() == 'user "me@x.test"'
    tls_floor = "TLS1+" if profile == "broken" else "TLS1.2+"
    assert fetchmail[poll + 2].split() == [
        "ssl",
        "sslcertck",
        "sslproto",
        f"'{tls_floor}'",
    ]

    msmtp = render_client(part, "msmtp").splitlines()
    assert f"host {smtp.endpoint.host}" in msmtp
    assert f"port {smtp.endpoint.port}" in msmtp
    assert "tls on" in msmtp and "tls_certcheck on" in msmtp
    assert f"tls_starttls {'off' if implicit_smtp else 'on'}" in msmtp

    mbsync = render_client(part, "mbsync").splitlines()
    assert f"Host {imap.endpoint.host}" in mbsync
    assert f"Port {imap.endpoint.port}" in mbsync
    assert "SSLType IMAPS" in mbsync

    neomutt = render_client(part, "neomutt", "me@x.test")
    assert (
        f'set folder = "imaps://me%40x.test@{imap.endpoint.host}:{imap.endpoint.port}/"'
        in neomutt
    )
    scheme = "smtps" if implicit_smtp else "smtp"
    assert (
        f'set smtp_url = "{scheme}://me%40x.test@{smtp.endpoint.host}:'
        f'{smtp.endpoint.port}/"' in neomutt
    )
    assert "set ssl_force_tls = yes" in neomutt

    phone = render_client(part, "phone")
    assert (
        f"  Server     {smtp.endpoint.host}\n  Port       {smtp.endpoint.port}\n"
        in phone
    )
    if not implicit_smtp:
        assert "STARTTLS, required" in phone


def test_starttls_only_where_it_was_proved(scan: Scan) -> None:
    # The 2018 ISP without its implicit-TLS endpoints: IMAP falls back to
    # STARTTLS on 143, which the scan saw work; POP3 and SMTP had only
    # plaintext, so nothing is offered for them, and the reason is given.
    part = profile_scan(scan, "isp2018")
    part.results = [r for r in part.results if r.endpoint.security is Security.STARTTLS]
    settings = choose(part)
    imap = settings.choices["imap"]
    assert (imap.security, imap.verdict) == (Security.STARTTLS, Verdict.ACCEPTABLE)
    assert "must require it" in imap.why
    assert set(settings.choices) == {"imap"}
    assert "no STARTTLS, password sent in clear" in settings.missing["pop3"]
    assert "Plaintext is never an option" in settings.missing["smtp"]

    root = ET.fromstring(render_client(part, "thunderbird"))
    assert [s.findtext("socketType") for s in root.iter("incomingServer")] == [
        "STARTTLS"
    ]
    assert root.find(".//outgoingServer") is None
    fetchmail = render_client(part, "fetchmail")
    assert "    sslcertck sslproto 'TLS1.2+'" in fetchmail.splitlines()
    assert "Nowhere safe to send mail" in render_client(part, "msmtp")
    assert "SSLType STARTTLS" in render_client(part, "mbsync")


def test_every_file_explains_its_choice(scan: Scan) -> None:
    part = profile_scan(scan, "modern")
    for client in CLIENTS:
        text = render_client(part, client)
        assert "valid as of" in text
        assert "RFC 8314" in text


def test_hostile_names_stay_inside_xml(scan: Scan) -> None:
    part = copy.deepcopy(profile_scan(scan, "modern"))
    part.target = "</displayName><script>x</script> --- -->"
    root = ET.fromstring(render_client(part, "thunderbird", user="a<b>&c"))
    assert root.find(".//displayName").text == part.target  # type: ignore[union-attr]
    assert root.find(".//script") is None
    assert {u.text for u in root.iter("username")} == {"a<b>&c"}
    # neomutt runs `...` and expands $names even inside double quotes.
    neomutt = render_client(part, "neomutt", user='o"b `id` $HOME\\')
    assert 'set from = "o\\"b \\`id\\` \\$HOME\\\\"\n' in neomutt


def test_settings_command(
    scan: Scan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "modern.json"
    report.write_text(json.dumps(profile_scan(scan, "modern").to_dict()))
    out = tmp_path / "config-v1.1.xml"
    assert (
        main(["settings", str(report), "--client", "thunderbird", "-o", str(out)]) == 0
    )
    assert ET.parse(out).getroot().tag == "clientConfig"
    assert main(["settings", str(report), "--client", "all"]) == 0
    printed = capsys.readouterr().out
    assert all(f"==> {name}" in printed for _, name in CLIENTS.values())
    assert main(["settings", str(tmp_path / "none.json")]) == 2
    # A line break in the login would add a directive to the client's file.
    evil = "me\npasswordeval touch /tmp/owned"
    assert main(["settings", str(report), "-c", "msmtp", "--user", evil]) == 2
    assert "passwordeval" not in capsys.readouterr().out


def test_logins_with_spaces_stay_one_argument(scan: Scan) -> None:
    part = profile_scan(scan, "modern")
    msmtp = render_client(part, "msmtp", user='Jo Doe "jd"').splitlines()
    assert 'user "Jo Doe \\"jd\\""' in msmtp
    mbsync = render_client(part, "mbsync", user="Jo Doe").splitlines()
    assert 'User "Jo Doe"' in mbsync
    plain = render_client(part, "msmtp", user="jo@x.test").splitlines()
    assert "user jo@x.test" in plain
