"""The probe engine against every lab endpoint: the facts, the findings, the verdict.

One lab serves all three profiles for the module; one scan probes them all
at once, which also proves that the slow and silent endpoints do not hold
the others back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mailtui.lab import Lab
from mailtui.model import Endpoint, ProbeResult, Scan, Severity, State
from mailtui.probe import ProbeFinished, ProbeOptions, StageChanged, run_scan

TIMEOUT = 1.5

# (profile, service or broken host prefix) -> what the probe must find:
# state, STARTTLS (advertised, accepted, completed) or None for implicit TLS,
# TLS version, certificate problems (None: no certificate seen), finding codes
# that must be present, verdict.
EXPECTED = {
    ("isp2018", "smtp"): (
        "open",
        (False, False, False),
        None,
        None,
        {"starttls-missing"},
        "do-not-use",
    ),
    ("isp2018", "submissions"): (
        "open",
        None,
        "TLSv1.2",
        [],
        {"implicit-tls"},
        "recommended",
    ),
    ("isp2018", "submission"): (
        "open",
        (False, False, False),
        None,
        None,
        {"starttls-missing", "auth-in-cleartext"},
        "do-not-use",
    ),
    ("isp2018", "pop3"): (
        "open",
        (False, False, False),
        None,
        None,
        {"starttls-missing", "auth-in-cleartext"},
        "do-not-use",
    ),
    ("isp2018", "pop3s"): ("open", None, "TLSv1.2", [], set(), "recommended"),
    ("isp2018", "imap"): (
        "open",
        (True, True, True),
        "TLSv1.2",
        [],
        {"auth-before-tls"},
        "acceptable",
    ),
    ("isp2018", "imaps"): ("open", None, "TLSv1.2", [], set(), "recommended"),
    ("modern", "smtp"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        {"relay-port"},
        "do-not-use",
    ),
    ("modern", "submissions"): ("open", None, "TLSv1.3", [], set(), "recommended"),
    ("modern", "submission"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        {"starttls-not-implicit"},
        "acceptable",
    ),
    ("modern", "pop3"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        set(),
        "acceptable",
    ),
    ("modern", "pop3s"): ("open", None, "TLSv1.3", [], set(), "recommended"),
    ("modern", "imap"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        set(),
        "acceptable",
    ),
    ("modern", "imaps"): ("open", None, "TLSv1.3", [], set(), "recommended"),
    ("modern", "sieve"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        set(),
        "acceptable",
    ),
    ("broken", "expired"): (
        "open",
        None,
        "TLSv1.3",
        ["expired"],
        {"cert-expired"},
        "do-not-use",
    ),
    ("broken", "wrong-name"): (
        "open",
        None,
        "TLSv1.3",
        ["name-mismatch"],
        {"cert-name-mismatch"},
        "do-not-use",
    ),
    ("broken", "missing-intermediate"): (
        "open",
        None,
        "TLSv1.3",
        ["missing-intermediate"],
        {"cert-missing-intermediate"},
        "do-not-use",
    ),
    ("broken", "self-signed"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        ["self-signed"],
        {"cert-self-signed"},
        "do-not-use",
    ),
    ("broken", "silent"): ("open", None, None, None, {"no-greeting"}, "unreachable"),
    ("broken", "garbage"): ("open", None, None, None, {"protocol-error"}, "do-not-use"),
    ("broken", "tls10"): (
        "open",
        None,
        "TLSv1",
        [],
        {"tls-deprecated-version"},
        "deprecated",
    ),
    ("broken", "auth-before-tls"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        {"auth-before-tls"},
        "acceptable",
    ),
    ("broken", "injection"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        {"plaintext-injection"},
        "do-not-use",
    ),
    ("broken", "starttls-refused"): (
        "open",
        (True, False, False),
        None,
        None,
        {"starttls-refused"},
        "do-not-use",
    ),
    ("broken", "starttls-broken"): (
        "open",
        (True, True, False),
        None,
        None,
        {"starttls-failed"},
        "do-not-use",
    ),
    ("broken", "busy"): (
        "open",
        None,
        None,
        None,
        {"temporary-failure"},
        "unreachable",
    ),
    ("broken", "filtered"): ("timeout", None, None, None, {"timeout"}, "unreachable"),
    ("broken", "markup"): (
        "open",
        (True, True, True),
        "TLSv1.3",
        [],
        {"relay-port"},
        "do-not-use",
    ),
    ("broken", "weak-key"): (
        "open",
        None,
        "TLSv1.3",
        ["weak-key"],
        {"cert-weak-key"},
        "deprecated",
    ),
    ("broken", "sha1"): (
        "open",
        None,
        "TLSv1.3",
        ["sha1-signature"],
        {"cert-sha1-signature"},
        "deprecated",
    ),
    ("broken", "tls-on-plain"): (
        "open",
        None,
        "TLSv1.3",
        [],
        {"tls-on-plain-port"},
        "do-not-use",
    ),
    ("broken", "plain-on-tls"): (
        "open",
        None,
        None,
        None,
        {"plaintext-on-tls-port"},
        "do-not-use",
    ),
}


def key(result: ProbeResult) -> tuple[str, str]:
    ep = result.endpoint
    profile = ep.host.split(".")[-3]
    if profile == "broken":
        return profile, ep.host.split(".")[0]
    return profile, ep.service


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab_scan() -> AsyncIterator[tuple[Scan, list[object], float]]:
    async with Lab() as lab:
        events: list[object] = []
        options = ProbeOptions(timeout=TIMEOUT, ca_file=lab.ca_file)
        started = time.perf_counter()
        scan = await run_scan(lab.endpoints, options, events.append, target="lab")
        yield scan, events, time.perf_counter() - started


@pytest.mark.asyncio(loop_scope="module")
async def test_every_lab_endpoint_is_expected(
    lab_scan: tuple[Scan, list, float],
) -> None:
    scan, _, _ = lab_scan
    assert sorted(key(r) for r in scan.results) == sorted(EXPECTED)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("which", sorted(EXPECTED), ids="/".join)
async def test_lab_endpoint(
    lab_scan: tuple[Scan, list, float], which: tuple[str, str]
) -> None:
    scan, _, _ = lab_scan
    [r] = [r for r in scan.results if key(r) == which]
    state, starttls, version, problems, codes, verdict = EXPECTED[which]
    assert str(r.state) == state, r.error
    if starttls is None:
        # Implicit TLS, or a plaintext port where STARTTLS was never tried.
        assert r.starttls is None
    else:
        assert r.starttls is not None
        facts = (r.starttls.advertised, r.starttls.accepted, r.starttls.completed)
        assert facts == starttls
    assert (r.tls.version if r.tls else None) == version
    if problems is None:
        assert r.certificate is None
    else:
        assert r.certificate is not None
        assert r.certificate.problems == problems
        assert r.certificate.trusted == (not problems)
    found = {f.code for f in r.findings}
    assert codes <= found, found
    assert str(r.verdict) == verdict, [f.code for f in r.findings]
    assert r.elapsed_ms > 0


@pytest.mark.asyncio(loop_scope="module")
async def test_starttls_transcript_and_capabilities(
    lab_scan: tuple[Scan, list, float],
) -> None:
    scan, _, _ = lab_scan
    [r] = [r for r in scan.results if key(r) == ("modern", "submission")]
    texts = [(e.direction, e.text) for e in r.transcript]
    assert ("client", "STARTTLS") in texts
    assert any(d == "note" and t.startswith("TLS handshake done") for d, t in texts)
    # Capabilities are asked again after TLS, and AUTH appears only then.
    assert any(c.upper() == "STARTTLS" for c in r.capabilities_before)
    assert not any(c.upper().startswith("AUTH") for c in r.capabilities_before)
    assert r.capabilities_after is not None
    assert any(c.upper().startswith("AUTH") for c in r.capabilities_after)
    times = [e.t_ms for e in r.transcript]
    assert times == sorted(times)
    assert len(r.certificate.chain) == 2
    assert r.certificate.chain[0].san == ["smtp.modern.lab.test"]


@pytest.mark.asyncio(loop_scope="module")
async def test_injected_plaintext_is_reported_not_parsed(
    lab_scan: tuple[Scan, list, float],
) -> None:
    scan, _, _ = lab_scan
    [r] = [r for r in scan.results if key(r) == ("broken", "injection")]
    assert r.starttls.injected
    after = r.capabilities_after or []
    assert all(r.starttls.injected.strip() not in c for c in after)


@pytest.mark.asyncio(loop_scope="module")
async def test_slow_endpoints_delay_nothing_else(
    lab_scan: tuple[Scan, list, float],
) -> None:
    scan, events, wall = lab_scan
    # Everything but the silent, filtered and TLS-speaking-silently ports.
    slow = {("broken", "silent"), ("broken", "filtered"), ("broken", "tls-on-plain")}
    fast = [r for r in scan.results if key(r) not in slow]
    assert max(r.elapsed_ms for r in fast) < TIMEOUT * 1000
    # The silent port may try TLS after its greeting timeout: two timeouts.
    assert wall < 2 * TIMEOUT + 1.5
    [filtered] = [r for r in scan.results if key(r) == ("broken", "filtered")]
    assert filtered.state is State.TIMEOUT
    assert filtered.elapsed_ms < TIMEOUT * 1000 * 1.1
    finished = [e for e in events if isinstance(e, ProbeFinished)]
    assert len(finished) == len(scan.results)
    assert any(isinstance(e, StageChanged) for e in events)


@pytest.mark.asyncio(loop_scope="module")
async def test_json_round_trip(lab_scan: tuple[Scan, list, float]) -> None:
    scan, _, _ = lab_scan
    data = scan.to_dict()
    assert Scan.from_dict(data).to_dict() == data
    for endpoint in data["endpoints"]:
        assert set(endpoint) >= {
            "service",
            "host",
            "port",
            "address",
            "state",
            "error",
            "starttls",
            "tls",
            "certificate",
            "capabilities",
            "findings",
            "verdict",
            "transcript",
            "elapsed_ms",
        }
        for finding in endpoint["findings"]:
            assert Severity(finding["severity"])


@pytest.mark.parametrize(
    ("per_host", "concurrency"), [(1, 64), (8, 1)], ids=["per-host", "scan"]
)
async def test_queuing_is_not_counted_against_an_endpoint(
    per_host: int, concurrency: int
) -> None:
    # Eight endpoints probed one at a time: the later ones queue for longer
    # than the deadline, which must only count their own time.
    async with Lab(["modern"]) as lab:
        options = ProbeOptions(
            timeout=1.0,
            deadline=0.4,
            per_host=per_host,
            concurrency=concurrency,
            ca_file=lab.ca_file,
        )
        scan = await run_scan(lab.endpoints, options)
    assert all(r.error is None for r in scan.results), [r.error for r in scan.results]
    if per_host == 1:
        queued = [r.timings.get("queued", 0.0) for r in scan.results]
        assert max(queued) > 100
    for r in scan.results:
        assert r.elapsed_ms < 400
        assert r.transcript[0].t_ms < 50


async def test_every_address_of_a_name_is_probed_on_request() -> None:
    # A name with two addresses: the lab listens on the first only. The
    # resolver stands in for DNS; the connections are real.
    async def two_addresses(host: str) -> list[str]:
        assert host == "imap.modern.lab.test"
        return ["127.0.0.1", "127.0.0.9"]

    async with Lab(["modern"]) as lab:
        [imaps] = [e for e in lab.endpoints if e.service == "imaps"]
        unpinned = Endpoint("imaps", imaps.host, imaps.port)
        base = {"timeout": 1.0, "ca_file": lab.ca_file, "resolver": two_addresses}
        first = await run_scan([unpinned], ProbeOptions(**base))
        every = await run_scan([unpinned], ProbeOptions(all_addresses=True, **base))
    [only] = first.results
    assert (only.address, only.state, only.addresses) == (
        "127.0.0.1",
        State.OPEN,
        ["127.0.0.1", "127.0.0.9"],
    )
    assert [(r.address, r.state) for r in every.results] == [
        ("127.0.0.1", State.OPEN),
        ("127.0.0.9", State.REFUSED),
    ]
    assert every.results[0].certificate.trusted


async def test_cancelling_a_scan_closes_its_sockets() -> None:
    # A server that says nothing and counts the connections still open.
    still_open: set[asyncio.StreamWriter] = set()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        still_open.add(writer)
        try:
            await reader.read()  # until the client closes
        finally:
            still_open.discard(writer)
            writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    services = ("smtp", "submission", "pop3", "imap", "sieve")
    endpoints = [
        Endpoint(s, "silent.test", port, address="127.0.0.1") for s in services
    ]
    async with server:
        scan = asyncio.create_task(run_scan(endpoints, ProbeOptions(timeout=30)))
        async with asyncio.timeout(5):
            while len(still_open) < len(services):
                await asyncio.sleep(0.01)
        scan.cancel()
        with pytest.raises(asyncio.CancelledError):
            await scan
        async with asyncio.timeout(2):
            while still_open:
                await asyncio.sleep(0.01)
    assert not still_open


async def test_a_failure_inside_one_probe_costs_that_row_only() -> None:
    # A resolver that fails in a way nobody planned for (not an OSError):
    # the row says so, the other endpoint of the scan gets its result.
    async def broken_resolver(host: str) -> list[str]:
        raise RuntimeError("resolver exploded")

    async with Lab(["modern"]) as lab:
        [imaps] = [e for e in lab.endpoints if e.service == "imaps"]
        unpinned = Endpoint("imaps", "boom.test", 993)
        options = ProbeOptions(
            timeout=1.0, ca_file=lab.ca_file, resolver=broken_resolver
        )
        scan = await run_scan([unpinned, imaps], options)
    failed, fine = scan.results
    assert failed.internal_error == "RuntimeError: resolver exploded"
    assert [f.code for f in failed.findings] == ["probe-failed"]
    assert str(failed.verdict) == "do-not-use"
    assert str(fine.verdict) == "recommended"
