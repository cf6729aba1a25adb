"""Hostile and broken servers: every probe ends, clearly, and alone.

One scan probes the hostile lab profile, the broken one and the modern one
together, with the sweep on and a short deadline. Each misbehaving endpoint
must end within its deadline with a state and a message a person can act
on; the modern endpoints in the same scan must get exactly the results they
get when scanned alone; and no probe may hold more than a bounded amount of
what a server sent.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mailtui.lab import Lab
from mailtui.model import ProbeResult, Scan, State, Verdict
from mailtui.probe import MAX_TRANSCRIPT_CHARS, ProbeOptions, probe_endpoint, run_scan
from mailtui.reports import facts

TIMEOUT = 1.5
"""Longer than the drip's second between bytes, so only the deadline stops it."""
DEADLINE = 3.0
SLACK_MS = 400
"""What an endpoint may overrun its deadline by on a busy two-core machine."""

# (profile, host slug) -> (finding code that must be there, words its state
# or message must contain, verdict)
HOSTILE = {
    ("hostile", "huge-line"): ("protocol-error", "line longer than", "do-not-use"),
    ("hostile", "endless"): ("protocol-error", "more than 1000 lines", "do-not-use"),
    ("hostile", "drip"): (
        "no-greeting",
        f"deadline of {DEADLINE:g} s reached during greeting",
        "unreachable",
    ),
    ("hostile", "reset"): ("conversation-cut", "reset", "unreachable"),
    ("hostile", "tls-alert"): ("tls-handshake-failed", "alert", "do-not-use"),
    ("hostile", "cut-handshake"): (
        "tls-handshake-failed",
        "closed the connection during the handshake",
        "do-not-use",
    ),
    ("hostile", "starttls-garbage"): (
        "starttls-failed",
        "wrong version number",
        "do-not-use",
    ),
    ("hostile", "malformed-cert"): ("cert-malformed", "malformed", "do-not-use"),
    ("hostile", "many-sans"): ("implicit-tls", "", "recommended"),
    ("broken", "silent"): ("no-greeting", "no greeting came", "unreachable"),
    ("broken", "plain-on-tls"): ("plaintext-on-tls-port", "", "do-not-use"),
    ("broken", "tls-on-plain"): ("tls-on-plain-port", "speaks TLS", "do-not-use"),
    ("broken", "injection"): ("plaintext-injection", "characters", "do-not-use"),
    ("broken", "garbage"): ("protocol-error", "looks like SSH", "do-not-use"),
}


def key(result: ProbeResult) -> tuple[str, str]:
    host = result.endpoint.host
    profile = host.split(".")[-3]
    if profile == "modern":
        return profile, result.endpoint.service
    return profile, host.split(".")[0]


def options(lab: Lab) -> ProbeOptions:
    return ProbeOptions(
        timeout=TIMEOUT, deadline=DEADLINE, ca_file=lab.ca_file, sweep=True
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scans() -> AsyncIterator[tuple[Lab, Scan, Scan, float]]:
    async with Lab(["hostile", "broken", "modern"]) as lab:
        modern = [e for e in lab.endpoints if lab.profile_of(e).name == "modern"]
        alone = await run_scan(modern, options(lab))
        started = time.perf_counter()
        mixed = await run_scan(lab.endpoints, options(lab))
        yield lab, mixed, alone, time.perf_counter() - started


def test_every_hostile_case_is_in_the_lab() -> None:
    lab = Lab(["hostile", "broken"])
    slugs = {(p.name, e.host.split(".")[0]) for p in lab.profiles for e in p.endpoints}
    assert set(HOSTILE) <= slugs


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("which", sorted(HOSTILE), ids="/".join)
async def test_hostile_endpoint_ends_clearly(
    scans: tuple[Lab, Scan, Scan, float], which: tuple[str, str]
) -> None:
    _, scan, _, _ = scans
    [r] = [r for r in scan.results if key(r) == which]
    code, words, verdict = HOSTILE[which]

    assert r.state is State.OPEN
    assert r.elapsed_ms <= DEADLINE * 1000 + SLACK_MS
    found = {f.code: f.message for f in r.findings}
    assert code in found, found
    said = " ".join(
        str(x) for x in (r.error, r.protocol_error, r.tls_error, found[code]) if x
    )
    assert words in said
    assert str(r.verdict) == verdict
    assert str(r.stage) == "done"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_reset_before_starttls_is_not_reported_as_no_starttls(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, scan, _, _ = scans
    [r] = [r for r in scan.results if key(r) == ("hostile", "reset")]
    assert facts.starttls_word(r) == "-"
    assert facts.starttls_summary(r) == "not asked: the conversation broke off first"


@pytest.mark.asyncio(loop_scope="module")
async def test_invalid_bytes_are_shown_escaped_and_the_rest_goes_on(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, scan, _, _ = scans
    [r] = [r for r in scan.results if key(r) == ("hostile", "bad-bytes")]
    assert r.greeting is not None
    assert "\\x00" in r.greeting and "\\x1b" in r.greeting
    assert "\ufffd" in r.greeting
    assert "\x00" not in r.greeting and "\x1b" not in r.greeting
    assert r.protocol_error is None
    assert r.starttls.completed
    assert r.verdict is Verdict.ACCEPTABLE


@pytest.mark.asyncio(loop_scope="module")
async def test_thousands_of_names_are_kept_and_checked(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, scan, _, _ = scans
    [r] = [r for r in scan.results if key(r) == ("hostile", "many-sans")]
    assert len(r.certificate.chain[0].san) == 3000
    assert r.certificate.trusted
    assert r.endpoint.host in r.certificate.chain[0].san


@pytest.mark.asyncio(loop_scope="module")
async def test_injection_is_reported_not_believed(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, scan, _, _ = scans
    [r] = [r for r in scan.results if key(r) == ("broken", "injection")]
    assert "injected.lab.test" in r.starttls.injected
    assert not any("injected" in c for c in r.capabilities_after or [])


@pytest.mark.asyncio(loop_scope="module")
async def test_well_behaved_neighbours_are_unaffected(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, mixed, alone, wall = scans

    def summary(r: ProbeResult) -> tuple[object, ...]:
        tls = r.tls
        return (
            r.state,
            r.verdict,
            sorted(f.code for f in r.findings),
            tls.version,
            tls.accepted_versions,
            tls.weak_ciphers,
            r.capabilities_after,
        )

    expected = {key(r): summary(r) for r in alone.results}
    seen = {key(r): summary(r) for r in mixed.results if key(r) in expected}
    assert seen == expected
    modern = [r for r in mixed.results if key(r) in expected]
    assert max(r.elapsed_ms for r in modern) < TIMEOUT * 1000
    # The whole scan is bounded by the slowest endpoint, not their sum.
    assert wall < DEADLINE + 1.5


@pytest.mark.asyncio(loop_scope="module")
async def test_every_transcript_is_capped(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    _, scan, _, _ = scans
    for r in scan.results:
        assert sum(len(e.text) for e in r.transcript) <= MAX_TRANSCRIPT_CHARS + 200
        assert r.stage == "done"


@pytest.mark.asyncio(loop_scope="module")
async def test_enormous_replies_cost_bounded_memory(
    scans: tuple[Lab, Scan, Scan, float],
) -> None:
    lab, _, _, _ = scans
    flooding = [
        e
        for e in lab.endpoints
        if e.host.split(".")[0] in ("huge-line", "endless")
        and lab.profile_of(e).name == "hostile"
    ]
    assert len(flooding) == 2

    tracemalloc.start()
    try:
        for endpoint in flooding:
            await probe_endpoint(endpoint, options(lab))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # The servers (in this process) send 1 MiB and up to 64 MiB; the probe
    # keeps a few reads' worth. 8 MiB would fail if it buffered either.
    assert peak < 8 * 1024 * 1024, peak
