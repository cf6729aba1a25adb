"""The built-in catalog: every entry well-formed, names found, typos helped."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources

import pytest

from mailtui.model import STANDARD_SERVICES, Protocol
from mailtui.providers import (
    CatalogError,
    UnknownName,
    find_provider,
    load_catalog,
    provider_for_domain,
    provider_for_mx,
)
from mailtui.providers.catalog import name_key, parse_catalog

CATALOG = load_catalog()

REQUIRED_IDS = {
    "orange",
    "free",
    "sfr",
    "bouygues",
    "laposte",
    "gmail",
    "outlook",
    "microsoft365",
    "yahoo",
    "icloud",
    "gmx",
    "webde",
    "fastmail",
    "zoho",
    "proton-bridge",
    "posteo",
    "mailbox-org",
    "infomaniak",
}


def _raw_entries() -> list[dict[str, object]]:
    text = (
        resources.files("mailtui.data")
        .joinpath("providers.toml")
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(text)["provider"]


def test_catalog_has_at_least_twenty_providers_including_the_named_ones() -> None:
    ids = {p.id for p in CATALOG}
    assert len(CATALOG) >= 20
    assert ids >= REQUIRED_IDS


VERIFIED_IDS = {
    "gmail",
    "outlook",
    "fastmail",
    "proton-bridge",
    "mailbox-org",
    "infomaniak",
    "runbox",
    "disroot",
}
"""The entries compared with their provider's own page on 2026-12-03."""


@pytest.mark.parametrize("provider", CATALOG, ids=lambda p: p.id)
def test_every_entry_is_well_formed(provider) -> None:  # type: ignore[no-untyped-def]
    assert provider.name.strip()
    assert provider.source.strip()
    if provider.checked is not None:
        assert provider.checked <= date(2026, 12, 31)
    assert provider.documented
    for endpoint in provider.documented:
        assert endpoint.label == f"provider:{provider.id}"
        assert provider.is_documented(endpoint)
    endpoints = provider.endpoints()
    assert len(endpoints) == len(set(endpoints))
    assert set(provider.documented) <= set(endpoints)
    assert all(e.address is None for e in endpoints)


def test_only_entries_actually_checked_claim_a_check_date() -> None:
    entries = {str(entry["id"]): entry for entry in _raw_entries()}
    checked = {i for i, entry in entries.items() if "checked" in entry}
    assert checked == VERIFIED_IDS
    for provider_id, entry in entries.items():
        assert isinstance(entry["source"], str) and entry["source"], provider_id
        if provider_id in checked:
            assert entry["checked"] == "2026-12-03", provider_id
            assert str(entry["source"]).startswith("https://"), provider_id
        else:
            # An unchecked entry says so in words a reader of the file sees.
            assert "not checked" in str(entry["notes"]).casefold(), provider_id


def test_an_unchecked_provider_says_so_where_users_look() -> None:
    yahoo = find_provider("yahoo")
    assert not yahoo.verified and yahoo.checked is None
    assert yahoo.provenance == "not checked against the provider's documentation"
    gmail = find_provider("gmail")
    assert gmail.verified
    assert gmail.provenance == "checked 2026-12-03"


def test_profile_show_tells_an_unchecked_provider_from_a_checked_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mailtui.cli import main

    assert main(["profile", "show", "yahoo"]) == 0
    out = capsys.readouterr().out
    assert "not checked against the provider's documentation" in out
    assert "checked 20" not in out
    assert main(["profile", "show", "runbox"]) == 0
    out = capsys.readouterr().out
    assert "source: https://help.runbox.com/email-program-settings/" in out
    assert "(checked 2026-12-03)" in out


def test_corrections_from_the_providers_pages_hold() -> None:
    def keys(provider_id: str) -> set[str]:
        return {e.key for e in find_provider(provider_id).documented}

    # Fastmail documents SMTP on 465 only; 587 is still scanned.
    fastmail = find_provider("fastmail")
    assert "submission://smtp.fastmail.com:587" not in keys("fastmail")
    assert any(e.port == 587 for e in fastmail.endpoints())
    # mailbox.org's page shows implicit TLS and 587, nothing else.
    assert keys("mailbox-org") == {
        "submissions://smtp.mailbox.org:465",
        "submission://smtp.mailbox.org:587",
        "pop3s://pop3.mailbox.org:995",
        "imaps://imap.mailbox.org:993",
    }
    # Migadu serves POP3 from its IMAP host.
    migadu = find_provider("migadu")
    assert migadu.host(Protocol.POP3) == migadu.host(Protocol.IMAP)
    # Bridge's defaults: both local ports speak STARTTLS, not implicit TLS.
    assert keys("proton-bridge") == {
        "imap://127.0.0.1:1143",
        "submission://127.0.0.1:1025",
    }


def test_no_two_providers_share_a_name_domain_or_mx() -> None:
    names = [name_key(n) for p in CATALOG for n in p.names]
    domains = [d for p in CATALOG for d in p.domains]
    mx = [m for p in CATALOG for m in p.mx]
    assert len(names) == len(set(names))
    assert len(domains) == len(set(domains))
    assert len(mx) == len(set(mx))


def test_a_provider_scans_the_standard_ports_of_its_hosts() -> None:
    orange = find_provider("orange")
    services = [(e.service, e.host, e.port) for e in orange.endpoints()]
    assert [s for s, _, _ in services] == list(STANDARD_SERVICES)
    assert ("submission", "smtp.orange.fr", 587) in services
    assert ("imaps", "imap.orange.fr", 993) in services
    documented = [e for e in orange.endpoints() if orange.is_documented(e)]
    assert {e.port for e in documented} == {465, 995, 993}


def test_documented_endpoints_match_what_providers_publish() -> None:
    def keys(provider_id: str) -> set[str]:
        return {e.key for e in find_provider(provider_id).documented}

    assert {
        "imaps://imap.gmail.com:993",
        "submissions://smtp.gmail.com:465",
        "submission://smtp.gmail.com:587",
    } <= keys("gmail")
    assert "imaps://outlook.office365.com:993" in keys("outlook")
    assert "submission://smtp-mail.outlook.com:587" in keys("outlook")
    assert {"imaps://imap.mail.me.com:993", "submission://smtp.mail.me.com:587"} == (
        keys("icloud")
    )


def test_a_local_bridge_scans_only_its_documented_ports() -> None:
    bridge = find_provider("proton-bridge")
    assert [e.key for e in bridge.endpoints()] == [
        "imap://127.0.0.1:1143",
        "submission://127.0.0.1:1025",
    ]
    assert bridge.endpoints()[0].server_name is None


def test_icloud_has_no_pop3_host() -> None:
    icloud = find_provider("icloud")
    assert icloud.host(Protocol.POP3) is None
    assert not any(e.protocol is Protocol.POP3 for e in icloud.endpoints())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("gmail", "gmail"),
        ("Google", "gmail"),
        ("GMAIL", "gmail"),
        ("hotmail", "outlook"),
        ("La Poste", "laposte"),
        ("mailbox.org", "mailbox-org"),
        ("Office365", "microsoft365"),
        ("protonmail", "proton-bridge"),
    ],
)
def test_names_match_case_insensitively_and_by_alias(typed: str, expected: str) -> None:
    assert find_provider(typed).id == expected


def test_an_unknown_name_offers_the_closest_in_one_line() -> None:
    with pytest.raises(UnknownName) as caught:
        find_provider("gmial")
    assert "gmail" in caught.value.suggestions
    assert "\n" not in str(caught.value)
    assert "gmial" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_a_typed_prefix_is_suggested_first() -> None:
    with pytest.raises(UnknownName) as caught:
        find_provider("micro")
    assert caught.value.suggestions[0] == "microsoft365"


def test_a_name_like_nothing_gets_a_pointer_to_the_list() -> None:
    with pytest.raises(UnknownName, match="profile list --catalog"):
        find_provider("qqqqqq")


def test_domains_and_mx_hosts_lead_to_their_provider() -> None:
    assert provider_for_domain("Wanadoo.fr.").id == "orange"  # type: ignore[union-attr]
    assert provider_for_domain("example.org") is None
    google = provider_for_mx("aspmx.l.google.com")
    fastmail = provider_for_mx("in1-smtp.messagingengine.com")
    assert google is not None and google.id == "gmail"
    assert fastmail is not None and fastmail.id == "fastmail"
    # A suffix only counts on a dot boundary.
    assert provider_for_mx("notgoogle.com") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[provider]]\nid = 'x'\n", "non-empty string"),
        ("provider = 1", "must hold only"),
        ("[[provider", "not valid TOML"),
    ],
)
def test_malformed_catalogs_are_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text)


ENTRY = """
[[provider]]
id = "{id}"
name = "Example"
aliases = {aliases}
imap = "imap.example.org"
documented = [{documented}]
source = "{source}"
{checked_line}
"""


def _entry(**changes: str) -> str:
    values = {
        "id": "example",
        "aliases": "[]",
        "documented": '"imaps://imap.example.org:993"',
        "source": "https://example.org/help",
        "checked_line": 'checked = "{}"'.format(changes.pop("checked", "2026-12-03")),
    }
    return ENTRY.format(**(values | changes))


def test_a_valid_entry_parses() -> None:
    (provider,) = parse_catalog(_entry())
    assert provider.id == "example"
    assert provider.checked == date(2026, 12, 3) and provider.verified
    assert [e.key for e in provider.endpoints()] == [
        "imap://imap.example.org:143",
        "imaps://imap.example.org:993",
    ]


def test_an_entry_without_a_check_date_parses_as_unverified() -> None:
    (provider,) = parse_catalog(_entry(checked_line="", source="Example Help"))
    assert provider.checked is None
    assert not provider.verified
    assert provider.source == "Example Help"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_entry(source="Example Help"), "cites its source as https://"),
        (_entry(checked=""), "'checked' must be a non-empty string"),
        (_entry() + _entry(), "more than one provider"),
        (_entry() + _entry(id="other", aliases='["example"]'), "belongs to both"),
        (_entry(aliases='["Example"]'), "twice"),
        (_entry(id="Bad Id"), "lower-case"),
        (_entry(checked="yesterday"), "Invalid isoformat"),
        (_entry(documented='"imaps://imap.example.org:99999"'), "out of range"),
        (_entry(documented='"imap.example.org"'), "SERVICE://HOST:PORT"),
        (_entry(documented='"imaps://other.example.org:993"'), "not on its imap"),
        (_entry(documented=""), "documents no endpoint"),
        (_entry().replace('name = "Example"', 'name = "E"\nweb = 1'), "unknown"),
    ],
)
def test_defective_entries_are_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text)
