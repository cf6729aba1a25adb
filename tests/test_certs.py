"""Chain validation names every problem the lab PKI can produce, exactly."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mailtui import certs
from mailtui.certs import CaFileError, check_chain, describe, name_matches
from mailtui.lab.pki import MANY_SANS, VARIANTS, WRONG_NAME, LabPki

NAME = "mail.lab.test"
NAMES = [NAME, "127.0.0.1"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki.create(tmp_path_factory.mktemp("pki"))


def chain_of(pki: LabPki, variant: str, names: list[str] = NAMES) -> list[bytes]:
    pem = pki.leaf(names, variant)[0]
    return [c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(pem)]


def leaf_cert(pki: LabPki, names: list[str]) -> x509.Certificate:
    return x509.load_der_x509_certificate(chain_of(pki, "valid", names)[0])


# --- every variant, with the lab root trusted and without it ------------------

WITH_LAB_CA = {
    "valid": [],
    "expired": ["expired"],
    "not-yet-valid": ["not-yet-valid"],
    "wrong-name": ["name-mismatch"],
    "self-signed": ["self-signed"],
    "missing-intermediate": ["missing-intermediate"],
    "weak-key": ["weak-key"],
    "sha1": ["sha1-signature"],
    "many-sans": [],
    "long-validity": [],
}


def test_every_variant_has_an_expectation() -> None:
    assert set(WITH_LAB_CA) == set(VARIANTS)


@pytest.mark.parametrize(("variant", "problems"), WITH_LAB_CA.items())
def test_variant_with_lab_ca(pki: LabPki, variant: str, problems: list[str]) -> None:
    check = check_chain(chain_of(pki, variant), NAME, ca_file=pki.ca_file)
    assert check.problems == problems
    assert check.trusted is (problems == [])
    assert check.checked_name == NAME
    assert (check.detail is None) is check.trusted


WITHOUT_LAB_CA = {
    "valid": ["unknown-issuer"],
    "expired": ["expired", "unknown-issuer"],
    "wrong-name": ["name-mismatch", "unknown-issuer"],
    "self-signed": ["self-signed"],
    "missing-intermediate": ["missing-intermediate"],
    "sha1": ["unknown-issuer", "sha1-signature"],
}


@pytest.mark.parametrize(("variant", "problems"), WITHOUT_LAB_CA.items())
def test_variant_with_system_store_only(
    pki: LabPki, variant: str, problems: list[str]
) -> None:
    check = check_chain(chain_of(pki, variant), NAME)
    assert check.problems == problems
    assert not check.trusted
    assert check.detail


def test_weak_key_is_refused_even_when_the_verifier_accepts(pki: LabPki) -> None:
    check = check_chain(chain_of(pki, "weak-key"), NAME, ca_file=pki.ca_file)
    assert not check.trusted
    assert check.detail and "weak-key" in check.detail


# --- time and names ----------------------------------------------------------


def test_dates_are_judged_at_the_given_moment(pki: LabPki) -> None:
    chain = chain_of(pki, "valid")
    now = dt.datetime.now(dt.UTC)
    later = check_chain(chain, NAME, ca_file=pki.ca_file, now=now + dt.timedelta(365))
    earlier = check_chain(chain, NAME, ca_file=pki.ca_file, now=now - dt.timedelta(3))
    assert later.problems == ["expired"]
    assert earlier.problems == ["not-yet-valid"]


def test_naive_moment_is_utc(pki: LabPki) -> None:
    naive = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(365)
    check = check_chain(chain_of(pki, "valid"), NAME, ca_file=pki.ca_file, now=naive)
    assert check.problems == ["expired"]


@pytest.mark.parametrize(
    ("asked", "problems"),
    [("127.0.0.1", []), ("127.0.0.2", ["name-mismatch"]), ("MAIL.Lab.Test.", [])],
)
def test_name_forms(pki: LabPki, asked: str, problems: list[str]) -> None:
    check = check_chain(chain_of(pki, "valid"), asked, ca_file=pki.ca_file)
    assert check.problems == problems


def test_no_name_skips_the_name_check_but_not_trust(pki: LabPki) -> None:
    wrong = check_chain(chain_of(pki, "wrong-name"), None, ca_file=pki.ca_file)
    assert wrong.trusted and wrong.problems == []
    untrusted = check_chain(chain_of(pki, "wrong-name"), None)
    assert untrusted.problems == ["unknown-issuer"]


def test_wildcard_certificate_without_name(pki: LabPki) -> None:
    chain = chain_of(pki, "valid", ["*.lab.test"])
    assert check_chain(chain, None, ca_file=pki.ca_file).trusted
    assert check_chain(chain, "imap.lab.test", ca_file=pki.ca_file).trusted


def test_ip_only_certificate_without_name(pki: LabPki) -> None:
    chain = chain_of(pki, "valid", ["192.0.2.7"])
    assert check_chain(chain, None, ca_file=pki.ca_file).trusted
    assert check_chain(chain, "192.0.2.7", ca_file=pki.ca_file).trusted
    assert check_chain(chain, "mail.lab.test", ca_file=pki.ca_file).problems == [
        "name-mismatch"
    ]


@pytest.mark.parametrize(
    ("pattern", "asked", "matches"),
    [
        ("*.example.com", "imap.example.com", True),
        ("*.example.com", "IMAP.Example.COM.", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.imap.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.com", "example.com", False),
        ("imap*.example.com", "imap1.example.com", False),
        ("imap.*.com", "imap.example.com", False),
        ("xn--bcher-kva.example", "bücher.example", True),
        ("mail.example.com", "mail.example.org", False),
    ],
)
def test_name_matching(pki: LabPki, pattern: str, asked: str, matches: bool) -> None:
    assert name_matches(leaf_cert(pki, [pattern]), asked) is matches


def test_wildcard_does_not_match_an_ip(pki: LabPki) -> None:
    assert not name_matches(leaf_cert(pki, ["*.0.0.1"]), "127.0.0.1")


# --- broken input ------------------------------------------------------------


def test_no_certificate() -> None:
    check = check_chain([], NAME)
    assert check.problems == ["no-certificate"]
    assert not check.trusted


def test_malformed_leaf() -> None:
    check = check_chain([b"\x30\x03\x02\x01\x01"], NAME)
    assert check.problems == ["malformed"]
    assert not check.trusted
    assert check.detail and "certificate 1" in check.detail


def test_malformed_intermediate_is_reported_beside_the_rest(pki: LabPki) -> None:
    leaf = chain_of(pki, "valid")[0]
    check = check_chain([leaf, b"junk"], NAME, ca_file=pki.ca_file)
    assert check.problems == ["malformed", "missing-intermediate"]
    assert len(check.chain) == 1
    assert check.detail and "certificate 2" in check.detail


def test_describe_rejects_garbage_clearly() -> None:
    with pytest.raises(ValueError, match="malformed certificate"):
        describe(b"not a certificate")


# --- what describe says ------------------------------------------------------


def test_describe_leaf(pki: LabPki) -> None:
    der = chain_of(pki, "valid")[0]
    info = describe(der)
    assert info.subject == "CN=mail.lab.test,O=mailtui lab (simulated)"
    assert info.issuer == "CN=mailtui lab intermediate CA,O=mailtui lab (simulated)"
    assert info.sha256 == hashlib.sha256(der).hexdigest()
    assert info.san == NAMES
    assert (info.key_type, info.key_bits) == ("EC P-256", 256)
    assert info.signature_algorithm == "ecdsa-with-SHA256"
    assert not info.is_ca and not info.self_signed
    assert int(info.serial, 16) == x509.load_der_x509_certificate(der).serial_number
    assert info.pem.startswith("-----BEGIN CERTIFICATE-----")
    before = dt.datetime.strptime(info.not_before, "%Y-%m-%dT%H:%M:%SZ")
    after = dt.datetime.strptime(info.not_after, "%Y-%m-%dT%H:%M:%SZ")
    assert dt.timedelta(days=30) < after - before < dt.timedelta(days=398)


def test_describe_intermediate_and_root(pki: LabPki) -> None:
    intermediate = describe(chain_of(pki, "valid")[1])
    assert intermediate.is_ca and not intermediate.self_signed
    root_der = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    root = describe(root_der.public_bytes(Encoding.DER))
    assert root.is_ca and root.self_signed
    assert root.subject == root.issuer == intermediate.issuer


@pytest.mark.parametrize(
    ("variant", "key_type", "bits", "signature"),
    [
        ("weak-key", "RSA", 1024, "ecdsa-with-SHA256"),
        ("sha1", "EC P-256", 256, "ecdsa-with-SHA1"),
    ],
)
def test_describe_weak_variants(
    pki: LabPki, variant: str, key_type: str, bits: int, signature: str
) -> None:
    info = describe(chain_of(pki, variant)[0])
    assert (info.key_type, info.key_bits) == (key_type, bits)
    assert info.signature_algorithm == signature


def test_describe_self_signed_leaf(pki: LabPki) -> None:
    info = describe(chain_of(pki, "self-signed")[0])
    assert info.self_signed and not info.is_ca


def test_many_sans_and_long_validity(pki: LabPki) -> None:
    many = describe(chain_of(pki, "many-sans")[0])
    assert len(many.san) == MANY_SANS and NAME in many.san
    long = describe(chain_of(pki, "long-validity")[0])
    years = int(long.not_after[:4]) - int(long.not_before[:4])
    assert years == 5


def test_wrong_name_names_something_else(pki: LabPki) -> None:
    assert describe(chain_of(pki, "wrong-name")[0]).san == [WRONG_NAME]


# --- the lab PKI itself ------------------------------------------------------


def test_lab_leaves_are_cached_and_stable(pki: LabPki) -> None:
    assert pki.leaf(NAMES, "valid") is pki.leaf(NAMES, "valid")
    a, b = (describe(chain_of(pki, v)[0]) for v in ("valid", "expired"))
    assert a.subject == b.subject and a.serial != b.serial


def test_lab_ca_file_holds_the_root_only(pki: LabPki) -> None:
    anchors = x509.load_pem_x509_certificates(pki.ca_file.read_bytes())
    assert [c.subject.rfc4514_string() for c in anchors] == [
        "CN=mailtui lab root CA,O=mailtui lab (simulated)"
    ]


def test_lab_rejects_unknown_variant(pki: LabPki) -> None:
    with pytest.raises(ValueError, match="unknown certificate variant"):
        pki.leaf(NAMES, "purple")


# --- CA files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"hello, I am not a certificate\n", "no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "unreadable certificate",
        ),
    ],
)
def test_bad_ca_file(
    pki: LabPki, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaFileError, match=message) as caught:
        check_chain(chain_of(pki, "valid"), NAME, ca_file=path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_directory_is_not_a_ca_file(tmp_path: Path) -> None:
    with pytest.raises(CaFileError, match=str(tmp_path)):
        certs.load_ca_file(tmp_path)


def test_ca_file_is_read_again_when_it_changes(pki: LabPki, tmp_path: Path) -> None:
    other = LabPki.create(tmp_path / "other")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.ca_file.read_bytes())
    assert check_chain(chain_of(pki, "valid"), NAME, ca_file=ca_file).trusted

    ca_file.write_bytes(other.ca_file.read_bytes())
    stat = ca_file.stat()
    os.utime(ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert not check_chain(chain_of(pki, "valid"), NAME, ca_file=ca_file).trusted
    assert check_chain(chain_of(other, "valid"), NAME, ca_file=ca_file).trusted


@pytest.mark.skipif(
    not certs.DEBIAN_BUNDLE.is_file(), reason="no system CA bundle on this machine"
)
def test_system_store_is_loaded_once() -> None:
    anchors = certs._system_anchors()
    assert len(anchors) > 50
    assert certs._system_anchors() is anchors
