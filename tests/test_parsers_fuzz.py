"""Every parser of server data, fed anything: a result or a clean error.

tests/test_protocols_properties.py drives whole dialogues with random
bytes. This module goes one level down, to each function that reads what
a server sent (a reply line, a status, a capability code, a quoted string,
a certificate), so that a parser reached by some path the dialogues do not
take still cannot raise anything but its documented error.
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtui import certs
from mailtui.lab.pki import LabPki
from mailtui.model import CertCheck, CertInfo, Protocol
from mailtui.protocols import cleartext_auth
from mailtui.protocols.base import (
    MAX_LINE,
    SNIPPET,
    LineBuffer,
    ProtocolError,
    decode,
    not_this_protocol,
)
from mailtui.protocols.imap import capability_code
from mailtui.protocols.pop3 import parse_status
from mailtui.protocols.sieve import capability, quoted_strings
from mailtui.protocols.smtp import parse_line

# Server text reaches the parsers through decode(), so both raw text and
# decoded bytes are fair inputs.
server_text = st.text(max_size=300) | st.binary(max_size=300).map(decode)
mail_text = st.lists(
    st.sampled_from(
        ['"', "\\", " ", "[", "]", "CAPABILITY", "OK", "+OK", "-ERR", "250", "-"]
    )
    | server_text,
    max_size=8,
).map("".join)
texts = server_text | mail_text


@given(texts)
def test_smtp_reply_line(text: str) -> None:
    try:
        code, more, rest = parse_line(text)
    except ProtocolError as error:
        assert str(error)
        return
    assert 0 <= code <= 999
    assert isinstance(more, bool)
    assert text.endswith(rest)


@given(texts)
def test_pop3_status(text: str) -> None:
    status = parse_status(text)
    if status is not None:
        ok, rest = status
        assert ok is text[:3].upper().startswith("+OK")
        assert isinstance(rest, str)


@given(texts)
def test_imap_capability_code(text: str) -> None:
    tokens = capability_code(text)
    assert tokens is None or all(t and " " not in t for t in tokens)


@given(texts)
def test_sieve_quoted_strings_and_capability(text: str) -> None:
    for parse in (quoted_strings, capability):
        try:
            parsed = parse(text)
        except ProtocolError as error:
            assert "malformed" in str(error)
        else:
            assert isinstance(parsed, list | str)


@given(st.binary(max_size=400))
def test_decode_is_total_and_inert(data: bytes) -> None:
    text = decode(data)
    assert "\x00" not in text and "\x1b" not in text and "\r" not in text


@given(st.sampled_from(["SMTP", "POP3", "IMAP", "ManageSieve"]), texts)
def test_protocol_error_message(protocol: str, text: str) -> None:
    message = not_this_protocol(protocol, text)
    assert message.startswith("not a")
    # The quote is cut to SNIPPET characters; repr() may spell one as ten.
    assert len(message) <= 60 + 10 * SNIPPET


@given(st.sampled_from(list(Protocol)), st.lists(texts, max_size=10))
def test_cleartext_auth_reads_any_capability_list(
    protocol: Protocol, capabilities: list[str]
) -> None:
    offers = cleartext_auth(protocol, capabilities)
    assert all(isinstance(o, str) and o for o in offers)
    assert len(offers) == len(set(offers))


@given(st.lists(st.binary(max_size=3 * MAX_LINE), max_size=8))
def test_line_buffer_never_yields_an_overlong_line(chunks: list[bytes]) -> None:
    buffer = LineBuffer()
    for chunk in chunks:
        for line in buffer.feed(chunk):
            assert len(line) < MAX_LINE
            assert b"\n" not in line
    assert len(buffer.pending) < MAX_LINE


# -- certificates -------------------------------------------------------------

_END = "-----END CERTIFICATE-----\n"
_PKI_DIR = Path(tempfile.mkdtemp(prefix="mailtui-fuzz-"))
atexit.register(shutil.rmtree, _PKI_DIR, True)
_PKI = LabPki.create(_PKI_DIR)
_CHAIN_PEM, _ = _PKI.leaf(["mail.lab.test"], "valid")
_LEAF_DER = ssl.PEM_cert_to_DER_cert(_CHAIN_PEM.decode().split("-----END")[0] + _END)


@st.composite
def damaged_der(draw: st.DrawFn) -> bytes:
    """The lab leaf with a few bytes changed, cut short or extended."""
    der = bytearray(_LEAF_DER)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(der) - 1))
        der[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(der)))
    return bytes(der[:cut]) + draw(st.binary(max_size=8))


certificates = st.binary(max_size=200) | damaged_der()


@settings(max_examples=200, deadline=None)
@given(certificates)
def test_describe_reads_or_refuses(der: bytes) -> None:
    try:
        info = certs.describe(der)
    except ValueError as error:
        assert str(error).startswith("malformed certificate")
    else:
        assert isinstance(info, CertInfo)


@settings(max_examples=200, deadline=None)
@given(st.lists(certificates, min_size=1, max_size=3))
def test_check_chain_never_raises(chain: list[bytes]) -> None:
    checked = certs.check_chain(chain, "mail.lab.test", ca_file=_PKI.ca_file)
    assert isinstance(checked, CertCheck)
    assert set(checked.problems) <= set(certs.PROBLEM_ORDER)
    assert set(checked.advisories) <= set(certs.ADVISORY_ORDER)
    if checked.trusted:
        assert not checked.problems
