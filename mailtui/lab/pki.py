"""A throwaway certificate authority for the lab servers and the tests.

The lab must show every certificate problem mailtui knows how to name, on a
machine with no network, so it mints its own: a root CA (the only file a
user passes with ``--ca-file``), an intermediate CA that signs the leaves,
and leaf certificates in *variants* that are each wrong in exactly one way.

Keys are EC P-256 because generating them costs microseconds; the only RSA
key is the deliberately weak 1024-bit one. Keys are random and never leave
the lab directory, so trusting a lab root on purpose or by mistake exposes
nothing beyond that run. Subjects, SANs and serial numbers are fixed, and
dates are rounded to the UTC day, so screenshots and snapshots change only
where they mask dates and fingerprints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import ssl
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VARIANTS = (
    "valid",
    "expired",
    "not-yet-valid",
    "wrong-name",
    "self-signed",
    "missing-intermediate",
    "weak-key",
    "sha1",
    "many-sans",
    "long-validity",
)
"""Every leaf variant `LabPki.leaf` can make."""

WRONG_NAME = "mismatch.mailtui-lab.invalid"
"""The only name a "wrong-name" certificate is valid for."""

MANY_SANS = 3000
"""SAN count of a "many-sans" certificate, the asked names included."""

_ORGANISATION = "mailtui lab (simulated)"
_DAY = dt.timedelta(days=1)

# Variants whose certificate OpenSSL 3 refuses to load at its default
# security level (small key, SHA-1 signature); the lab serves them anyway.
_NEEDS_SECLEVEL_0 = {"weak-key", "sha1"}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class _Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


class LabPki:
    """A root CA, an intermediate CA and leaves made on demand.

    Create it with `LabPki.create(directory)`; the directory receives
    ``ca.pem`` (the root) and the PEM files the server contexts load.
    """

    def __init__(self, directory: Path, root: _Authority, inter: _Authority) -> None:
        self.directory = directory
        """Where ``ca.pem`` and the leaf files live."""
        self.ca_file = directory / "ca.pem"
        """The trust anchor to pass with ``--ca-file``: the root only."""
        self._root = root
        self._intermediate = inter
        self._leaves: dict[tuple[tuple[str, ...], str], tuple[bytes, bytes]] = {}
        self._files: dict[tuple[tuple[str, ...], str], tuple[Path, Path]] = {}
        self._lock = threading.Lock()

    @classmethod
    def create(cls, directory: Path) -> LabPki:
        """Make the two authorities and write the root to ``ca.pem``."""
        directory.mkdir(parents=True, exist_ok=True)
        start = _today() - 3650 * _DAY
        end = _today() + 3650 * _DAY

        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("mailtui lab root CA")
        root = _Authority(
            root_key,
            _ca_builder(root_name, root_name, root_key, root_key, None)
            .serial_number(1)
            .not_valid_before(start)
            .not_valid_after(end)
            .sign(root_key, hashes.SHA256()),
        )

        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = _Authority(
            inter_key,
            _ca_builder(
                _name("mailtui lab intermediate CA"),
                root_name,
                inter_key,
                root_key,
                0,
            )
            .serial_number(2)
            .not_valid_before(start)
            .not_valid_after(end)
            .sign(root_key, hashes.SHA256()),
        )

        pki = cls(directory, root, inter)
        pki.ca_file.write_bytes(_pem(root.cert))
        return pki

    @property
    def root_pem(self) -> bytes:
        return _pem(self._root.cert)

    @property
    def intermediate_pem(self) -> bytes:
        return _pem(self._intermediate.cert)

    def leaf(self, names: Sequence[str], variant: str = "valid") -> tuple[bytes, bytes]:
        """The chain a server sends (PEM, leaf first) and the leaf's key (PEM).

        Made once per (names, variant), then served from a cache.
        """
        if variant not in VARIANTS:
            raise ValueError(f"unknown certificate variant {variant!r}")
        if not names:
            raise ValueError("a leaf certificate needs at least one name")
        cache_key = (tuple(names), variant)
        with self._lock:
            if cache_key not in self._leaves:
                self._leaves[cache_key] = self._make_leaf(list(names), variant)
            return self._leaves[cache_key]

    def server_context(
        self,
        names: Sequence[str],
        variant: str = "valid",
        *,
        minimum_version: ssl.TLSVersion | None = None,
        maximum_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """A server-side context presenting a leaf of `variant` for `names`.

        Asking for a maximum below TLS 1.2 lowers the minimum to match and
        drops OpenSSL's security level to 0, without which OpenSSL 3 refuses
        to negotiate TLS 1.0 and 1.1 at all.
        """
        chain_file, key_file = self._leaf_files(names, variant)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        legacy = (
            maximum_version is not None and maximum_version < ssl.TLSVersion.TLSv1_2
        )
        if legacy or variant in _NEEDS_SECLEVEL_0:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            # Old versions are asked for on purpose: the lab imitates old servers.
            warnings.simplefilter("ignore", DeprecationWarning)
            if legacy:
                context.minimum_version = ssl.TLSVersion.TLSv1
            if minimum_version is not None:
                context.minimum_version = minimum_version
            if maximum_version is not None:
                context.maximum_version = maximum_version
        context.load_cert_chain(chain_file, key_file)
        return context

    def _leaf_files(self, names: Sequence[str], variant: str) -> tuple[Path, Path]:
        chain, key = self.leaf(names, variant)
        cache_key = (tuple(names), variant)
        with self._lock:
            if cache_key not in self._files:
                stem = f"leaf-{variant}-{_digest(cache_key)[:12]}"
                chain_file = self.directory / f"{stem}.pem"
                key_file = self.directory / f"{stem}.key"
                chain_file.write_bytes(chain)
                key_file.touch(mode=0o600)
                key_file.write_bytes(key)
                self._files[cache_key] = (chain_file, key_file)
            return self._files[cache_key]

    def _make_leaf(self, names: list[str], variant: str) -> tuple[bytes, bytes]:
        key: PrivateKey
        if variant == "weak-key":
            key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        else:
            key = ec.generate_private_key(ec.SECP256R1())

        san_names = names
        if variant == "wrong-name":
            san_names = [WRONG_NAME]
        elif variant == "many-sans":
            filler = MANY_SANS - len(names)
            san_names = [f"s{i}.lab.test" for i in range(filler)] + names

        today = _today()
        not_before, not_after = today - _DAY, today + 90 * _DAY
        if variant == "expired":
            not_before, not_after = today - 400 * _DAY, today - 30 * _DAY
        elif variant == "not-yet-valid":
            not_before, not_after = today + 30 * _DAY, today + 400 * _DAY
        elif variant == "long-validity":
            not_after = today + 5 * 365 * _DAY

        self_signed = variant == "self-signed"
        issuer_key: PrivateKey = key if self_signed else self._intermediate.key
        subject = _name(WRONG_NAME if variant == "wrong-name" else names[0])
        issuer = subject if self_signed else self._intermediate.cert.subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(int(_digest((tuple(names), variant))[:15], 16))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(_key_usage(ca=False, rsa_key=variant == "weak-key"), True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False
            )
            .add_extension(_san(san_names), False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer_key.public_key()
                ),
                False,
            )
        )
        cert = builder.sign(issuer_key, hashes.SHA256())
        if variant == "sha1":
            cert = _resign_sha1(cert, self._intermediate.key)

        chain = _pem(cert)
        if variant not in ("self-signed", "missing-intermediate"):
            chain += _pem(self._intermediate.cert)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return chain, key_pem


def _today() -> dt.datetime:
    """Midnight UTC: dates move once a day, not on every run."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    path_length: int | None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
        .add_extension(_key_usage(ca=True), True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            False,
        )
    )


def _key_usage(*, ca: bool, rsa_key: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        # RSA key exchange (TLS 1.0 era suites) encrypts to the leaf's key.
        key_encipherment=rsa_key,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


# cryptography (rightly) refuses to sign a certificate with SHA-1, yet the
# lab must serve one. So the SHA-256 certificate is taken apart: its
# to-be-signed part gets the ecdsa-with-SHA1 algorithm identifier and is
# signed again with the low-level ECDSA primitive, which still allows SHA-1.
_ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")


def _resign_sha1(
    cert: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    version, serial, _algorithm, *rest = _der_items(cert.tbs_certificate_bytes)
    tbs = der_tlv(0x30, version + serial + _ECDSA_SHA1 + b"".join(rest))
    signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA1()))
    bit_string = der_tlv(0x03, b"\x00" + signature)
    return x509.load_der_x509_certificate(der_tlv(0x30, tbs + _ECDSA_SHA1 + bit_string))


def _der_items(sequence: bytes) -> list[bytes]:
    """The encoded elements of a DER SEQUENCE (single-byte tags only)."""
    body, _ = _der_body(sequence, 0)
    items, offset = [], 0
    while offset < len(body):
        _, end = _der_body(body, offset)
        items.append(body[offset:end])
        offset = end
    return items


def _der_body(data: bytes, offset: int) -> tuple[bytes, int]:
    """The content of the element at `offset`, and where the next one starts."""
    length, start = data[offset + 1], offset + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    return data[start : start + length], start + length


def der_tlv(tag: int, content: bytes) -> bytes:
    """One DER type-length-value: what hand-built certificates are made of."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()
