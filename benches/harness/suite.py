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
     until a step fails, then one step is taken between the last pass and the first
     failure. At most MAX_STEPS + 1 runs.
Around every run it reads the target's CPU time (utime + stime of every process of the
target and its children, /proc/PID/stat) and its peak RSS (VmHWM of each, summed, after
resetting it through /proc/PID/clear_refs). After a run the target did not sustain, it
waits for the target to go idle again before the next.
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


FULL = Profile("full", light_s=10, busy_s=5, step_s=3, concurrency=(1, 64, 512),
               search_concurrency=(1, 64, 512), factor=2)
QUICK = Profile("quick", light_s=3, busy_s=2, step_s=1.5, concurrency=(1, 64, 512),
                search_concurrency=(64,), factor=4)

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
        cmd = [
            self.args.loadgen, "--url", self.args.url,
            "--body", json.dumps(load.body, separators=(",", ":")),
            "--header", f"authorization: Bearer {self.args.key}",
            "--rate", f"{rate:g}", "--concurrency", str(concurrency),
            "--duration", f"{duration:g}", "--timeout", f"{REQUEST_TIMEOUT_S:g}",
            "--give-up", f"{2 * load.p99_bound_ms / 1000:g}", "--warmup", str(warmup),
        ]
        if load.stream:
            cmd += ["--stream", "--header", STREAM_CHUNKS_HEADER]
        if self.args.loadgen_cpu is not None:
            cmd = ["taskset", "-c", self.args.loadgen_cpu] + cmd
        pids = self.pids()
        reset_peak_rss(pids)
        cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(pids) - cpu_before
        if out.returncode != 0:
            raise RuntimeError(f"loadgen failed: {out.stderr.strip()}")
        report = json.loads(out.stdout)
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
        # One step between the last pass and the first failure.
        if passed is not None and failed is not None and failed > passed:
            middle = float(f"{math.sqrt(passed * failed):.2g}")  # two significant digits
            if middle > 1.1 * passed and step(middle):
                passed = middle
        return passed

    def run(self):
        started = time.time()
        idle_rss = memory_kb(self.pids(), "VmRSS")
        idle_share = self.busy_share(2.0)
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
