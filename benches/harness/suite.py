#!/usr/bin/env python3
"""Runs the benchmark's loads against one target and writes down what it measured.

Called by benches/run once per target, while that target's processes are up:

    suite.py --target switchboard --url http://127.0.0.1:18200/v1/chat/completions \\
        --key sk-switchboard-bench --pids 123,456 --loadgen target/release/loadgen \\
        --out target/bench/results/switchboard.json [--quick]

For each load (small non-streamed chat completions; streams of 200 chunks) and each
concurrency (1, 64 and 512 connections) it runs loadgen, open-loop, at:
  1. the light rate, which every target sustains, LiteLLM included: the latency comparison;
  2. the busy rate, which the Rust targets sustain: their latency comparison under load;
  3. a step search for the highest rate sustained under the load's p99 bound: the rate
     is multiplied by the profile's factor from the highest of those two that passed
     until a step fails, then the profile's `refine` bisection steps are taken between
     the last pass and the first failure. At most MAX_STEPS + refine runs.
Around every run it reads the target's CPU time (utime + stime of every process of the
target and its children, /proc/PID/stat) and its peak RSS (VmHWM of each, summed, after
resetting it through /proc/PID/clear_refs). After a run the target did not sustain, it
waits for the target to go idle again before the next.

Before those loads, while the target is fresh, it measures memory with 512 streams open at
once (see OPEN_STREAMS): the 512-connection runs above cannot tell that, since the
overloaded steps of the search pile requests up in queues instead.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass

SMALL_BODY = {
    "model": "bench-small",
    "max_tokens": 64,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France? Answer in one word."},
    ],
}
STREAM_BODY = {
    "model": "bench-stream",
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me a story about a lighthouse keeper."}],
}
# Asks mock-llm for 200 output tokens, so 200 content chunks. Gateways do not forward a
# client's headers upstream; their bench configs send this header themselves.
STREAM_CHUNKS_HEADER = "x-mock-output-tokens: 200"

# Memory with 512 streams really open: streams of 50 chunks 40 ms apart (about 2 s each),
# offered at 256/s over 512 connections for 6 s, so from the second second on about 512
# are open at once. Direct and bare targets send the mock-llm headers themselves; the
# gateways' configs have a model `bench-slow-stream` whose provider sends them.
OPEN_STREAM_BODY = {
    "model": "bench-slow-stream",
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me a long story about a lighthouse."}],
}
OPEN_STREAM_HEADERS = ("x-mock-output-tokens: 50", "x-mock-token-delay-ms: 40")
OPEN_RATE = 256
OPEN_CONCURRENCY = 512
OPEN_SECONDS = 6
# A stream lasts about 2 s; one that takes 10 s is a timeout. A target that keeps all 512
# connections busy for 2 s longer than that (LiteLLM) is given up on, so the run stays
# bounded; what share of the streams completed is recorded either way.
OPEN_TIMEOUT_S = 10.0
OPEN_GIVE_UP_S = 2.0

MAX_STEPS = 10
# One request may take this long, headers to last byte, before it counts as a timeout.
REQUEST_TIMEOUT_S = 5.0
# A step is sustained only with at most this share of errors.
ERROR_BUDGET = 0.001


@dataclass(frozen=True)
class Load:
    name: str
    body: dict
    stream: bool
    light_rate: float
    busy_rate: float
    p99_bound_ms: float


LOADS = [
    Load("small", SMALL_BODY, stream=False, light_rate=20, busy_rate=1000, p99_bound_ms=100),
    Load("stream", STREAM_BODY, stream=True, light_rate=3, busy_rate=100, p99_bound_ms=1000),
]


@dataclass(frozen=True)
class Profile:
    name: str
    light_s: float
    busy_s: float
    step_s: float
    concurrency: tuple
    search_concurrency: tuple
    factor: float
    # Bisection steps between the last rate that passed and the first that failed.
    refine: int


FULL = Profile("full", light_s=10, busy_s=5, step_s=3, concurrency=(1, 64, 512),
               search_concurrency=(1, 64, 512), factor=2, refine=2)
QUICK = Profile("quick", light_s=3, busy_s=2, step_s=1.5, concurrency=(1, 64, 512),
                search_concurrency=(64,), factor=4, refine=1)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(roots):
    """The processes of a target: the given pids and all their children."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(read_stat(int(entry))[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def read_stat(pid):
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = read_stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def memory_kb(pids, field):
    """Sum of a /proc/PID/status field (VmRSS, VmHWM) over the processes, in kB."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def reset_peak_rss(pids):
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def loadgen_command(loadgen, cpu, url, key, body, rate, concurrency, duration, timeout,
                    give_up, warmup, stream=False, headers=()):
    """The loadgen invocation of one run, pinned to `cpu` when given."""
    cmd = [
        loadgen, "--url", url,
        "--body", json.dumps(body, separators=(",", ":")),
        "--header", f"authorization: Bearer {key}",
        "--rate", f"{rate:g}", "--concurrency", str(concurrency),
        "--duration", f"{duration:g}", "--timeout", f"{timeout:g}",
        "--give-up", f"{give_up:g}", "--warmup", str(warmup),
    ]
    if stream:
        cmd.append("--stream")
    for header in headers:
        cmd += ["--header", header]
    if cpu is not None:
        cmd = ["taskset", "-c", cpu] + cmd
    return cmd


def run_loadgen(cmd, duration, timeout):
    """Runs one loadgen invocation and returns its JSON report. loadgen stops by itself
    after duration + timeout; the margin only guards against a hung process."""
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 60)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def sustained(report, load):
    """Whether a run kept up: every request sent (no early give-up), errors within budget
    and p99 under the load's bound. Latency counts from when a request was due, so a
    target that falls behind the offered rate fails the bound."""
    return (
        not report["gave_up"]
        and report["unsent"] == 0
        and report["errors"] <= ERROR_BUDGET * report["offered"]
        and report["latency_us"]["p99"] <= load.p99_bound_ms * 1000
    )


class Suite:
    def __init__(self, args):
        self.args = args
        self.profile = QUICK if args.quick else FULL
        self.roots = [int(p) for p in args.pids.split(",") if p]
        self.runs = []

    def pids(self):
        return descendants(self.roots)

    def loadgen(self, load, concurrency, rate, duration, phase, warmup):
        """One loadgen run, with the target's CPU time and peak RSS around it."""
        cmd = loadgen_command(
            self.args.loadgen, self.args.loadgen_cpu, self.args.url, self.args.key, load.body,
            rate, concurrency, duration, REQUEST_TIMEOUT_S, 2 * load.p99_bound_ms / 1000,
            warmup, stream=load.stream, headers=(STREAM_CHUNKS_HEADER,) if load.stream else ())
        pids = self.pids()
        reset_peak_rss(pids)
        cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
        report = run_loadgen(cmd, duration, REQUEST_TIMEOUT_S)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(pids) - cpu_before
        requests = report["warmup_sent"] + report["sent"]
        run = {
            "load": load.name, "concurrency": concurrency, "phase": phase, "rate": rate,
            "sustained": sustained(report, load),
            "cpu_s": cpu, "wall_s": wall, "requests": requests,
            "cpu_us_per_request": cpu / requests * 1e6 if requests else None,
            "peak_rss_kb": memory_kb(pids, "VmHWM"),
            "report": report,
        }
        self.runs.append(run)
        lat = report["latency_us"]
        print(
            f"  {self.args.target:<12} {load.name:<6} c={concurrency:<3} {phase:<6} "
            f"{rate:>8g}/s  ok {report['ok']:>6}  err {report['errors']:>4}  "
            f"p50 {lat['p50'] / 1000:8.3f} ms  p99 {lat['p99'] / 1000:8.3f} ms  "
            f"{'sustained' if run['sustained'] else 'NOT sustained'}",
            file=sys.stderr, flush=True,
        )
        time.sleep(0.3)  # let the target close the run's connections
        if not run["sustained"]:
            self.settle()
        return run

    def open_streams(self):
        """Peak RSS with about 512 streams open at once (OPEN_STREAMS above), and the share
        of them that completed. Run on a fresh target, before the loads: an allocator keeps
        what an earlier overloaded run made it map, and the reset VmHWM starts from there."""
        cmd = loadgen_command(
            self.args.loadgen, self.args.loadgen_cpu, self.args.url, self.args.key,
            OPEN_STREAM_BODY, OPEN_RATE, OPEN_CONCURRENCY, OPEN_SECONDS, OPEN_TIMEOUT_S,
            OPEN_GIVE_UP_S, 0, stream=True, headers=OPEN_STREAM_HEADERS)
        pids = self.pids()
        rss_before = memory_kb(pids, "VmRSS")
        reset_peak_rss(pids)
        report = run_loadgen(cmd, OPEN_SECONDS, OPEN_TIMEOUT_S)
        peak = memory_kb(self.pids(), "VmHWM")
        lat = report["latency_us"]
        completed = report["ok"] / report["offered"] if report["offered"] else 0.0
        # Little's law: open at once = rate x the time a stream holds its connection, at
        # most the connections. That time is last byte less first byte (the first byte's
        # time includes the wait for a free connection). A stream asked for 2 s takes about
        # 2.02 s on an idle mock-llm, longer on a busy core, so at 256/s all 512 connections
        # are soon busy and a few streams wait for one. 50 chunks 40 ms apart, not 200 10 ms
        # apart: the same time open at a quarter of the chunks, so the run measures memory
        # held by open streams, not whether one core can relay 50,000 chunks/s.
        held = (lat["p50"] - report["first_byte_us"]["p50"]) / 1e6
        open_at_once = min(OPEN_CONCURRENCY, OPEN_RATE * held) if report["ok"] else None
        result = {
            "rate": OPEN_RATE, "concurrency": OPEN_CONCURRENCY, "duration_s": OPEN_SECONDS,
            "headers": list(OPEN_STREAM_HEADERS), "completed_share": completed,
            "open_at_once": open_at_once, "rss_before_kb": rss_before, "peak_rss_kb": peak,
            "report": report,
        }
        print(
            f"  {self.args.target:<12} open   c={OPEN_CONCURRENCY:<3} 2 s streams "
            f"{OPEN_RATE:>4g}/s  ok {report['ok']:>6}  err {report['errors']:>4}  "
            f"p50 {lat['p50'] / 1000:8.1f} ms  p99 {lat['p99'] / 1000:8.1f} ms  "
            f"peak RSS {peak / 1024:.1f} MB, {100 * completed:.1f}% completed"
            f"{', gave up' if report['gave_up'] else ''}",
            file=sys.stderr, flush=True,
        )
        time.sleep(0.5)  # let the target close 512 connections
        if report["gave_up"] or completed < 1 - ERROR_BUDGET:
            self.settle()
        return result

    def settle(self):
        """Waits, 30 s at most, until the target has worked off what an overloaded run
        left queued (it uses under 5% of a CPU), so the next run starts from idle."""
        for _ in range(60):
            if self.busy_share(0.5) < 0.05:
                return
        print(f"  {self.args.target}: still busy 30 s after an overloaded run",
              file=sys.stderr)

    def busy_share(self, seconds):
        """The share of one CPU the target's processes use over `seconds`."""
        pids = self.pids()
        before = cpu_seconds(pids)
        time.sleep(seconds)
        return (cpu_seconds(pids) - before) / seconds

    def search(self, load, concurrency, start):
        """The highest rate sustained: up from `start` (a rate that passed) or, when
        nothing passed, down from the light rate; None when nothing passes."""
        factor = self.profile.factor

        def step(rate):
            run = self.loadgen(load, concurrency, rate, self.profile.step_s, "search", 4)
            return run["sustained"]

        passed, failed = start, None
        rate = start * factor if start else load.light_rate / factor
        for _ in range(MAX_STEPS):
            if step(rate):
                passed = rate
                if failed is not None:
                    break
                rate *= factor
            else:
                failed = rate
                if passed is not None:
                    break
                rate /= factor
        else:
            return passed
        # Then bisect between the last pass and the first failure (in ratio: two steps
        # narrow a factor of 2 to about 1.19).
        for _ in range(self.profile.refine):
            if passed is None or failed is None:
                break
            middle = float(f"{math.sqrt(passed * failed):.2g}")  # two significant digits
            if not passed * 1.05 < middle < failed:
                break
            if step(middle):
                passed = middle
            else:
                failed = middle
        return passed

    def run(self):
        started = time.time()
        # A second to settle first: what a target loads at start (a node's token counter,
        # about half a second) is then in place, its memory counted and its CPU not.
        self.busy_share(1.0)
        idle_share = self.busy_share(2.0)
        idle_rss = memory_kb(self.pids(), "VmRSS")
        try:
            if self.args.target == "litellm":
                # 512 streams at once take LiteLLM's one worker down for minutes (measured:
                # none completed, and the light runs after it timed out), so every later
                # figure would be lost; its memory under load is in the other runs.
                raise RuntimeError("not run for LiteLLM: it does not recover in time "
                                   "for the other loads")
            open_streams = self.open_streams()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            # A memory figure missing is no reason to lose the target's other figures.
            print(f"  {self.args.target}: open streams failed: {e}", file=sys.stderr)
            open_streams = {"error": str(e)}
        best = {}
        for load in LOADS:
            first = True
            for concurrency in self.profile.concurrency:
                light = self.loadgen(load, concurrency, load.light_rate, self.profile.light_s,
                                     "light", 32 if first else 4)
                first = False
                busy = self.loadgen(load, concurrency, load.busy_rate, self.profile.busy_s,
                                    "busy", 4)
                if concurrency in self.profile.search_concurrency:
                    start = next((r["rate"] for r in (busy, light) if r["sustained"]), None)
                    best[f"{load.name}/{concurrency}"] = self.search(load, concurrency, start)
        result = {
            "target": self.args.target,
            "label": self.args.label or self.args.target,
            "profile": self.profile.name,
            "url": self.args.url,
            "processes": len(self.pids()),
            "idle_rss_kb": idle_rss,
            "idle_cpu_share": idle_share,
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "seconds": time.time() - started,
            "bounds_ms": {load.name: load.p99_bound_ms for load in LOADS},
            "max_sustained_rate": best,
            "open_streams": open_streams,
            "runs": self.runs,
        }
        os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
        with open(self.args.out, "w") as f:
            json.dump(result, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="short name: direct, bare, ...")
    parser.add_argument("--label", help="how the report names the target")
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True, help="the bearer key every request sends")
    parser.add_argument("--pids", required=True, help="the target's processes, comma-separated")
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--loadgen-cpu", help="taskset CPU list for loadgen")
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    Suite(parser.parse_args()).run()


if __name__ == "__main__":
    main()
