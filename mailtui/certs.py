"""Certificate chains: what each certificate says, and what is wrong.

The probe captures the chain without verifying it (see `mailtui.tls`); this
module judges it afterwards, for the name that was asked for.

Theory of operation
-------------------

Trust is decided by `cryptography`'s X.509 verifier against the system
trust store plus the user's ``--ca-file``. The verifier is strict and
correct, but it stops at the first error and its message is prose, while
mailtui needs *every* problem as a stable code. So `check_chain` works in
two passes:

1. The verifier's verdict gives `trusted` and, on refusal, its message
   goes to `detail`.
2. Problems that can be read off the certificates are computed here, each
   on its own: validity dates, the name (RFC 6125 as profiled for mail by
   RFC 7817), a self-signed leaf, an RSA key under 2048 bits, a SHA-1
   signature. Issuer problems are inferred from the chain's shape: a leaf
   whose issuer was neither sent nor known is a *missing intermediate*; a
   chain that ends in a root or CA nobody trusts has an *unknown issuer*.

Loaded trust stores are cached: the system bundle is parsed once per
process, a CA file again only when it changes on disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import logging
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import SignatureAlgorithmOID
from cryptography.x509.verification import (
    DNSName,
    IPAddress,
    PolicyBuilder,
    Store,
    VerificationError,
)

from mailtui.model import CertCheck, CertInfo

log = logging.getLogger(__name__)

PROBLEM_ORDER = (
    "no-certificate",
    "malformed",
    "expired",
    "not-yet-valid",
    "name-mismatch",
    "self-signed",
    "unknown-issuer",
    "missing-intermediate",
    "weak-key",
    "sha1-signature",
)
"""Every problem code, in the order `CertCheck.problems` lists them."""

MIN_RSA_BITS = 2048
"""RSA (and DSA) keys shorter than this are reported as weak."""

ADVISORY_ORDER = ("long-validity", "no-san", "must-staple")
"""Every advisory code, in the order `CertCheck.advisories` lists them."""

MAX_VALIDITY_DAYS = 398
"""Longest leaf lifetime the CA/Browser Forum allows since September 2020."""

DEBIAN_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

_SIGNATURE_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "md5WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    SignatureAlgorithmOID._RSA_WITH_SHA1: "sha1WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA224: "sha224WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    SignatureAlgorithmOID.RSASSA_PSS: "RSASSA-PSS",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa-with-SHA1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA224: "ecdsa-with-SHA224",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa-with-SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "dsa-with-SHA256",
    SignatureAlgorithmOID.ED25519: "Ed25519",
    SignatureAlgorithmOID.ED448: "Ed448",
}

_SHA1_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID._RSA_WITH_SHA1,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1,
}


class CaFileError(ValueError):
    """A ``--ca-file`` that is missing, unreadable or holds no certificate."""


# --- one certificate ---------------------------------------------------------


def describe(der: bytes) -> CertInfo:
    """Everything a person checks on one certificate.

    Raises:
        ValueError: the bytes are not a certificate `cryptography` can read.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        return _describe(cert)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        # Extensions are parsed lazily, so a bad one surfaces only here.
        raise ValueError(f"malformed certificate: {error}") from error


@functools.lru_cache(maxsize=512)
def _describe_der(der: bytes) -> CertInfo:
    """`_describe`, remembered: a provider's hosts share one chain."""
    return _describe(x509.load_der_x509_certificate(der))


def _describe(cert: x509.Certificate) -> CertInfo:
    key_type, key_bits = _key_description(cert)
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=_iso(cert.not_valid_before_utc),
        not_after=_iso(cert.not_valid_after_utc),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        san=_san_strings(cert),
        serial=format(cert.serial_number, "x"),
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=_SIGNATURE_NAMES.get(
            cert.signature_algorithm_oid, cert.signature_algorithm_oid.dotted_string
        ),
        is_ca=_is_ca(cert),
        self_signed=_is_self_signed(cert),
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_description(cert: x509.Certificate) -> tuple[str, int | None]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return cert.public_key_algorithm_oid.dotted_string, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVES.get(key.curve.name, key.curve.name)
        return f"EC {curve}", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def _san_extension(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    except x509.ExtensionNotFound:
        return None


def _san_strings(cert: x509.Certificate) -> list[str]:
    san = _san_extension(cert)
    if san is None:
        return []
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns + ips


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: same name, and its own key checks the signature."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # An algorithm cryptography will not verify (SHA-1, say): the
        # matching names are the best evidence left.
        return True
    return True


# --- trust stores ------------------------------------------------------------


@dataclass(frozen=True)
class _Anchors:
    """Trust anchors, with their subjects to tell unknown issuers apart."""

    certificates: tuple[x509.Certificate, ...]
    subjects: frozenset[x509.Name]
    store: Store


def _read_pem_bundle(data: bytes) -> list[x509.Certificate]:
    with warnings.catch_warnings():
        # System bundles hold old roots that bend RFC 5280 (a negative
        # serial, say); cryptography warns, and the user can do nothing.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            pass
        # One odd certificate must not lose the whole bundle: parse singly.
        marker = b"-----BEGIN CERTIFICATE-----"
        certs = []
        for block in data.split(marker)[1:]:
            try:
                certs.append(x509.load_pem_x509_certificate(marker + block))
            except ValueError:
                continue
        return certs


@functools.cache
def _system_anchors() -> tuple[x509.Certificate, ...]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, DEBIAN_BUNDLE):
        if candidate and Path(candidate).is_file():
            try:
                certs = _read_pem_bundle(Path(candidate).read_bytes())
            except OSError as error:
                log.warning("cannot read system trust store %s: %s", candidate, error)
                continue
            log.debug("loaded %d trust anchors from %s", len(certs), candidate)
            return tuple(certs)
    log.warning("no system trust store found; only --ca-file will be trusted")
    return ()


def load_ca_file(path: Path) -> tuple[x509.Certificate, ...]:
    """The certificates of a PEM CA file, checked, cached until it changes.

    Raises:
        CaFileError: missing, unreadable, empty, or not PEM certificates.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise CaFileError(f"CA file {path}: no such file") from None
    except OSError as error:
        raise CaFileError(f"CA file {path}: {error.strerror or error}") from None
    return _load_ca_file(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_ca_file(path: Path, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    # mtime_ns and size are only part of the cache key.
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CaFileError(f"CA file {path}: {error.strerror or error}") from None
    if not data.strip():
        raise CaFileError(f"CA file {path}: empty")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CaFileError(f"CA file {path}: no PEM certificate in it")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise CaFileError(f"CA file {path}: unreadable certificate ({error})") from None
    return tuple(certs)


def _anchors(ca_file: Path | None) -> _Anchors:
    if ca_file is None:
        return _anchors_for(None, 0, 0)
    load_ca_file(ca_file)  # the checks and their clear errors
    stat = ca_file.stat()
    return _anchors_for(ca_file.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _anchors_for(path: Path | None, mtime_ns: int, size: int) -> _Anchors:
    # Built once per CA file version: hashing every root's subject and
    # building a Store costs more than the verification itself, and a scan
    # checks hundreds of chains against the same anchors.
    certs = _system_anchors()
    if path is not None:
        certs = certs + _load_ca_file(path, mtime_ns, size)
    return _Anchors(certs, frozenset(c.subject for c in certs), Store(list(certs)))


# --- the chain ---------------------------------------------------------------


def check_chain(
    chain_der: Sequence[bytes],
    server_name: str | None,
    *,
    ca_file: Path | None = None,
    now: dt.datetime | None = None,
) -> CertCheck:
    """Validate the chain a server sent for `server_name`.

    Args:
        chain_der: the certificates as sent, leaf first.
        server_name: the host name asked for, or an IP literal (checked
            against IP SANs); None skips the name check.
        ca_file: extra trust anchors (PEM), added to the system store.
        now: the moment to judge dates at; the current time by default.

    Raises:
        CaFileError: `ca_file` cannot be used.
    """
    anchors = _anchors(ca_file)
    moment = _utc(now)
    result = CertCheck(checked_name=server_name)
    if not chain_der:
        result.problems = ["no-certificate"]
        return result

    parsed, errors = _parse_chain(chain_der, result)
    if parsed[0] is None:
        # Without a readable leaf there is nothing else to judge.
        result.problems = ["malformed"]
        result.detail = "; ".join(errors)
        return result

    certs = [cert for cert in parsed if cert is not None]
    leaf, intermediates = certs[0], certs[1:]
    verified, verdict = _verify(leaf, intermediates, server_name, anchors, moment)
    problems = _problems(certs, server_name, anchors, moment, verified)
    if errors:
        problems.add("malformed")
    result.problems = [code for code in PROBLEM_ORDER if code in problems]

    # The verifier tolerates some things mailtui does not (RSA 1024, for
    # one): trusted means both agree.
    result.trusted = verified and not result.problems
    result.advisories = advisories(leaf)
    if verified and result.problems:
        verdict = "accepted by the verifier, but: " + ", ".join(result.problems)
    result.detail = "; ".join([*errors, verdict] if verdict else errors) or None
    return result


def advisories(leaf: x509.Certificate) -> list[str]:
    """What is worth knowing about a leaf without making it untrusted.

    A lifetime over `MAX_VALIDITY_DAYS` (public CAs may not issue one, so it
    hints at a private CA or an old certificate), no SAN extension (names
    then live only in the CN, which RFC 6125 clients ignore), and OCSP
    must-staple (RFC 7633), which a client enforcing it refuses without a
    stapled answer: Python's ssl cannot show whether one was stapled.
    """
    found = set()
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    if lifetime > dt.timedelta(days=MAX_VALIDITY_DAYS):
        found.add("long-validity")
    try:
        if _san_extension(leaf) is None:
            found.add("no-san")
        features = leaf.extensions.get_extension_for_class(x509.TLSFeature).value
        if x509.TLSFeatureType.status_request in features:
            found.add("must-staple")
    except x509.ExtensionNotFound:
        pass
    except (ValueError, TypeError):
        # Unreadable extensions are already reported as "malformed".
        pass
    return [code for code in ADVISORY_ORDER if code in found]


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC)


def _parse_chain(
    chain_der: Sequence[bytes], result: CertCheck
) -> tuple[list[x509.Certificate | None], list[str]]:
    """Each certificate parsed (None if unreadable), and what went wrong.

    Readable ones are described into `result.chain` on the way.
    """
    parsed: list[x509.Certificate | None] = []
    errors = []
    for position, der in enumerate(chain_der, start=1):
        try:
            cert = x509.load_der_x509_certificate(der)
            result.chain.append(replace(_describe_der(der)))
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            errors.append(f"certificate {position} is malformed: {error}")
            parsed.append(None)
        else:
            parsed.append(cert)
    return parsed, errors


def _verify(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    server_name: str | None,
    anchors: _Anchors,
    moment: dt.datetime,
) -> tuple[bool, str | None]:
    """The verifier's verdict and, when it refuses, its reason."""
    if not anchors.certificates:
        return False, "no trust anchors: no system store and no CA file"
    subject = _verifier_subject(leaf, server_name)
    if subject is None:
        return False, f"{server_name!r} is not a name a certificate can hold"
    builder = PolicyBuilder().store(anchors.store).time(moment)
    try:
        builder.build_server_verifier(subject).verify(leaf, intermediates)
    except VerificationError as error:
        return False, str(error)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        # Certificates the policy cannot even evaluate: still a refusal.
        return False, f"cannot evaluate the chain: {error}"
    return True, None


def _verifier_subject(
    leaf: x509.Certificate, server_name: str | None
) -> DNSName | IPAddress | None:
    """What the verifier checks the leaf against.

    With no name to check (an IP literal not given), the leaf's own first
    SAN stands in, so the verifier still judges trust and nothing else.
    """
    name = server_name
    if name is None:
        san = _san_extension(leaf)
        first = next(iter(san), None) if san is not None else None
        if isinstance(first, x509.IPAddress):
            name = str(first.value)
        elif isinstance(first, x509.DNSName):
            # The verifier wants a concrete name; any label fills a wildcard.
            name = first.value.replace("*", "wildcard", 1)
        else:
            name = "no-name.invalid"
    address = _ip(name)
    if address is not None:
        return IPAddress(address)
    try:
        return DNSName(_a_label(name))
    except ValueError:
        return None


def _problems(
    certs: list[x509.Certificate],
    server_name: str | None,
    anchors: _Anchors,
    moment: dt.datetime,
    verified: bool,
) -> set[str]:
    leaf = certs[0]
    path = _issuer_path(certs)
    problems: set[str] = set()

    # Dates: the leaf always; the CAs sent only when the chain failed, since
    # a verifier that succeeded may have used a fresher copy from the store.
    for cert in path if not verified else [leaf]:
        if moment > cert.not_valid_after_utc:
            problems.add("expired")
        if moment < cert.not_valid_before_utc:
            problems.add("not-yet-valid")

    if server_name is not None and not name_matches(leaf, server_name):
        problems.add("name-mismatch")

    if not verified:
        problems |= _issuer_problems(path, anchors)

    for position, cert in enumerate(path):
        if _is_weak(cert):
            problems.add("weak-key")
        # A root's signature on itself is never checked, so SHA-1 there is
        # harmless; everywhere else it is a forgery risk.
        is_root = position > 0 and _is_self_signed(cert)
        if cert.signature_algorithm_oid in _SHA1_SIGNATURES and not is_root:
            problems.add("sha1-signature")
    return problems


def _issuer_path(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf, then each sent certificate that issued the one before.

    Servers often send extra or stale certificates; following issuer names
    keeps only those that matter for this leaf.
    """
    path = [certs[0]]
    while not _is_self_signed(path[-1]):
        issuer = next(
            (
                c
                for c in certs
                if c.subject == path[-1].issuer and all(c is not p for p in path)
            ),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
    return path


def _issuer_problems(path: list[x509.Certificate], anchors: _Anchors) -> set[str]:
    top = path[-1]
    if _is_self_signed(top):
        if top in anchors.certificates:
            return set()
        return {"self-signed"} if len(path) == 1 else {"unknown-issuer"}
    if top.issuer in anchors.subjects:
        # The store knows the issuer: the refusal is about something else.
        return set()
    # The server sent the leaf alone and its issuer is nowhere: the
    # intermediate CA it should have sent is missing. A sent CA whose own
    # issuer is unknown means the whole hierarchy is one we do not trust.
    return {"missing-intermediate"} if len(path) == 1 else {"unknown-issuer"}


def _is_weak(cert: x509.Certificate) -> bool:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        return key.key_size < MIN_RSA_BITS
    return False


# --- names -------------------------------------------------------------------


def name_matches(cert: x509.Certificate, server_name: str) -> bool:
    """Whether `cert` is valid for `server_name` (RFC 6125, RFC 7817).

    IP literals match IP SANs only. Names match DNS SANs, case-insensitively;
    a wildcard is honoured only as the whole left-most label and covers
    exactly one label. The subject CN is not consulted: RFC 6125 allows it
    only without DNS SANs, and no current CA issues such certificates.
    """
    san = _san_extension(cert)
    if san is None:
        return False
    address = _ip(server_name)
    if address is not None:
        return address in san.get_values_for_type(x509.IPAddress)
    try:
        wanted = _a_label(server_name).lower().rstrip(".")
    except ValueError:
        return False
    return any(
        _dns_matches(pattern.lower().rstrip("."), wanted)
        for pattern in san.get_values_for_type(x509.DNSName)
    )


def _dns_matches(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    first, _, rest = pattern.partition(".")
    # "*.com" would cover a whole top-level domain: demand two labels after.
    if first != "*" or rest.count(".") < 1:
        return False
    head, _, tail = name.partition(".")
    return bool(head) and tail == rest


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _a_label(name: str) -> str:
    """The ASCII form of a possibly internationalised host name."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise ValueError(f"not a valid host name: {name!r}") from error
