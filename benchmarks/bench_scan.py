"""How fast is `mailtui scan`, against what a person does by hand?

Prints, as medians of several runs (the machines are shared and noisy):

1. the whole `mailtui scan` command on the lab's seven modern endpoints,
   beside the same seven probed the manual way: seven `openssl s_client`
   runs one after another, as in the 2018 write-up this tool replaces; on
   bare loopback and with the lab imitating a 50 ms round trip;
2. a scan of 1,000 lab endpoints: wall time, endpoints per second and the
   scanning process's peak memory;
3. what one filtered endpoint (a listener whose accept queue is full)
   costs, against its timeout.

Everything runs on loopback; the lab servers run in their own process so
the figures are the scanner's, as they would be against a real provider.

    python benchmarks/bench_scan.py [--runs 5] [--skip-large]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
STANDARD = ("smtp", "submissions", "submission", "pop3", "pop3s", "imap", "imaps")
OPENSSL_STARTTLS = {"smtp": "smtp", "pop3": "pop3", "imap": "imap", "sieve": "sieve"}


@contextmanager
def background(command: list[str]) -> Iterator[dict]:
    """Run a lab command that prints one JSON line, yield it, then stop it."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"lab did not start: {' '.join(command)}")
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(timeout=10)


def lab(profile: str, latency_ms: float = 0) -> Iterator[dict]:
    command = [sys.executable, "-m", "mailtui", "lab", "--json"]
    command += ["--profile", profile, "--latency", str(latency_ms)]
    return background(command)


def timed(command: list[str], stdin: str | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB and stdout of one command run."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        _, _, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = 0
        out.seek(0)
        return elapsed, usage.ru_maxrss, out.read()


def scan_command(ca_file: str, endpoints: list[dict], *extra: str) -> list[str]:
    command = [sys.executable, "-m", "mailtui", "scan", "--ca-file", ca_file]
    for host in sorted({e["host"] for e in endpoints}):
        command += ["--resolve", f"{host}:127.0.0.1"]
    return [*command, *extra, *(e["url"] for e in endpoints)]


def openssl_commands(ca_file: str, endpoints: list[dict]) -> list[list[str]]:
    commands = []
    for e in endpoints:
        command = ["openssl", "s_client", "-connect", f"127.0.0.1:{e['port']}"]
        command += ["-servername", e["host"], "-CAfile", ca_file]
        if e["security"] == "starttls":
            command += ["-starttls", OPENSSL_STARTTLS[e["protocol"]]]
        commands.append(command)
    return commands


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def seven_endpoints(runs: int) -> None:
    print("1. seven modern endpoints: mailtui scan vs seven openssl s_client runs")
    for latency in (0, 25):
        with lab("modern", latency) as served:
            endpoints = [e for e in served["endpoints"] if e["service"] in STANDARD]
            assert len(endpoints) == 7
            common = ("--json", "--no-save")
            full = scan_command(served["ca_file"], endpoints, *common)
            lean = scan_command(served["ca_file"], endpoints, *common, "--no-sweep")
            manual = openssl_commands(served["ca_file"], endpoints)
            ours, ours_lean, theirs = [], [], []
            for _ in range(runs):
                for command, samples in ((full, ours), (lean, ours_lean)):
                    elapsed, _, out = timed(command)
                    verdicts = [e["verdict"] for e in json.loads(out)["endpoints"]]
                    assert "unreachable" not in verdicts, verdicts
                    samples.append(elapsed)
                started = time.perf_counter()
                for command in manual:
                    timed(command, stdin="Q\n")
                theirs.append(time.perf_counter() - started)
        rtt = f"{2 * latency} ms round trip" if latency else "bare loopback"
        a, lean_ms, b = median_ms(ours), median_ms(ours_lean), median_ms(theirs)
        print(
            f"   {rtt:>17}: 7x openssl s_client {b:5.0f} ms | mailtui scan "
            f"{a:5.0f} ms ({b / a:3.1f}x), --no-sweep {lean_ms:5.0f} ms "
            f"({b / lean_ms:3.1f}x)"
        )


def thousand_endpoints(runs: int, count: int = 1000) -> None:
    print(f"2. {count} lab endpoints in one scan")
    command = [sys.executable, str(HERE / "many_lab.py"), "--count", str(count)]
    with background(command) as served:
        scan = [sys.executable, "-m", "mailtui", "scan", "--json", "--no-save"]
        scan += ["--ca-file", served["ca_file"]]
        for pin in served["resolve"]:
            scan += ["--resolve", pin]
        scan += served["endpoints"]
        for label, extra in (
            ("sweep on (default)", []),
            ("--no-sweep", ["--no-sweep"]),
        ):
            walls, peaks = [], []
            for _ in range(runs):
                elapsed, peak_kib, out = timed([*scan, *extra])
                results = json.loads(out)["endpoints"]
                assert len(results) == count
                unfinished = [e for e in results if e["stage"] != "done"]
                failed = [e for e in results if e["verdict"] == "unreachable"]
                assert not unfinished and not failed, (len(unfinished), len(failed))
                walls.append(elapsed)
                peaks.append(peak_kib / 1024)
            wall = statistics.median(walls)
            runs_text = ", ".join(f"{w:.2f}" for w in walls)
            print(
                f"   {label:>18}: wall {wall:5.2f} s ({runs_text})  "
                f"{count / wall:5.0f} endpoints/s  "
                f"peak RSS {statistics.median(peaks):4.0f} MiB (max {max(peaks):.0f})"
            )


def filtered_endpoint(runs: int) -> None:
    print("3. one filtered endpoint against its timeout")
    with lab("broken") as served:
        [filtered] = [e for e in served["endpoints"] if e["host"].startswith("filt")]
        for timeout in (1.0, 3.0):
            command = scan_command(
                served["ca_file"],
                [filtered],
                "--json",
                "--no-save",
                "--timeout",
                str(timeout),
            )
            probe_ms, walls = [], []
            for _ in range(runs):
                elapsed, _, out = timed(command)
                [result] = json.loads(out)["endpoints"]
                assert result["state"] == "timeout", result["state"]
                probe_ms.append(result["elapsed_ms"])
                walls.append(elapsed)
            probe = statistics.median(probe_ms)
            print(
                f"   timeout {timeout:3.1f} s: probe {probe:6.0f} ms "
                f"({probe / (timeout * 1000):.3f}x the timeout), whole command "
                f"{median_ms(walls):6.0f} ms"
            )


def cache_bytecode() -> None:
    """Let the scans run from compiled bytecode, as an installed mailtui does.

    Some machines (this project's among them) set PYTHONDONTWRITEBYTECODE,
    so every `python -m mailtui` would compile mailtui again, about 0.1 s
    that no user with an installed package pays. The cache goes to a
    throwaway folder, and one warm-up run fills it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="mailtui-pyc-")
    timed([sys.executable, "-m", "mailtui", "scan", "--help"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    cache_bytecode()
    print(f"mailtui scan benchmark, medians of {args.runs} runs, {time.ctime()}")
    seven_endpoints(args.runs)
    if not args.skip_large:
        thousand_endpoints(max(3, args.runs // 2))
    filtered_endpoint(args.runs)


if __name__ == "__main__":
    main()
