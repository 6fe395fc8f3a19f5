#!/usr/bin/env python3
"""Turns the suite's measurements (one JSON file per target) into RESULTS.md.

    report.py --results target/bench/results --out benches/RESULTS.md \\
        --command "benches/run" --litellm "1.100.5" --haproxy "2.6.12"

Every figure is compared with mock-llm answering directly (the added latency) and given as
a ratio to the bare proxy (the floor) and to LiteLLM.
"""

import argparse
import datetime
import json
import os
import platform

# The order targets appear in, and the names the report gives them.
TARGETS = {
    "direct": "mock-llm direct",
    "bare": "bare hyper proxy",
    "switchboard": "Switchboard, 1 node",
    "cluster": "Switchboard, 3 nodes + HAProxy",
    "litellm": "LiteLLM proxy",
}
LOADS = {"small": "small non-streamed chat completions", "stream": "streams of 200 chunks"}
CHUNKS = 200
# The concurrency whose highest sustained run gives CPU per request (searched in every
# profile).
COST_CONCURRENCY = 64


def ms(us):
    if us is None:
        return "—"
    v = us / 1000
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def ratio(value, base):
    if value is None or base is None or base <= 0 or value < 0:
        return "—"
    r = value / base
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def per_s(rate):
    return "none" if rate is None else f"{rate:g}/s"


def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"


class Results:
    def __init__(self, directory):
        self.targets = {}
        for name in TARGETS:
            path = os.path.join(directory, f"{name}.json")
            if os.path.exists(path):
                with open(path) as f:
                    self.targets[name] = json.load(f)
        if not self.targets:
            raise SystemExit(f"report.py: no results in {directory}")
        first = next(iter(self.targets.values()))
        self.profile = first["profile"]
        self.bounds = first["bounds_ms"]

    def run(self, target, load, concurrency, phase):
        runs = self.targets.get(target, {}).get("runs", [])
        return next((r for r in runs if (r["load"], r["concurrency"], r["phase"])
                     == (load, concurrency, phase)), None)

    def concurrencies(self, load, phase):
        found = set()
        for t in self.targets.values():
            found.update(r["concurrency"] for r in t["runs"]
                         if r["load"] == load and r["phase"] == phase)
        return sorted(found)

    def rate(self, load, phase):
        for t in self.targets.values():
            for r in t["runs"]:
                if r["load"] == load and r["phase"] == phase:
                    return r["rate"]
        return None

    def added(self, target, load, concurrency, phase, q):
        """Latency added over mock-llm direct at the same load, concurrency and rate."""
        run, direct = self.run(target, load, concurrency, phase), \
            self.run("direct", load, concurrency, phase)
        if not run or not direct or not run["sustained"] or not direct["sustained"]:
            return None
        return run["report"]["latency_us"][q] - direct["report"]["latency_us"][q]

    def sustained_rate(self, target, load, concurrency):
        key = f"{load}/{concurrency}"
        return self.targets.get(target, {}).get("max_sustained_rate", {}).get(key)

    def cost_run(self, target, load):
        """The sustained run with the most requests per second at COST_CONCURRENCY."""
        runs = [r for r in self.targets.get(target, {}).get("runs", [])
                if r["load"] == load and r["concurrency"] == COST_CONCURRENCY
                and r["sustained"] and r["cpu_us_per_request"] is not None]
        return max(runs, key=lambda r: r["rate"], default=None)

    def cpu_per_request(self, target, load):
        run = self.cost_run(target, load)
        return run["cpu_us_per_request"] if run else None

    def cpu_per_chunk(self, target):
        small, stream = self.cpu_per_request(target, "small"), \
            self.cpu_per_request(target, "stream")
        if small is None or stream is None:
            return None
        return (stream - small) / CHUNKS

    def cpu_per_chunk_over_bare(self, target):
        """What a target spends per chunk beyond the relaying the bare proxy does too."""
        own, bare = self.cpu_per_chunk(target), self.cpu_per_chunk("bare")
        return None if own is None or bare is None else own - bare

    def busy_cpu(self, target, load):
        """CPU per request of the busy-rate run at COST_CONCURRENCY (same load for all)."""
        run = self.run(target, load, COST_CONCURRENCY, "busy")
        return run["cpu_us_per_request"] if run and run["sustained"] else None

    def added_per_chunk_at_equal_load(self, target):
        """CPU per chunk a target adds over the bare proxy, both at the same busy rates:
        (its stream's excess over bare's stream, less its small call's excess over bare's
        small call) / CHUNKS. Unlike cpu_per_chunk_over_bare, which compares each target
        at its own highest rate, this does not credit the faster target with the cheaper
        batching a higher rate brings."""
        figures = [self.busy_cpu(t, load) for t in (target, "bare") for load in ("stream", "small")]
        if any(f is None for f in figures):
            return None
        stream, small, bare_stream, bare_small = figures
        return ((stream - bare_stream) - (small - bare_small)) / CHUNKS

    def peak_rss(self, target, load, concurrency):
        runs = [r for r in self.targets.get(target, {}).get("runs", [])
                if r["load"] == load and r["concurrency"] == concurrency]
        return max((r["peak_rss_kb"] for r in runs), default=None)


def latency_table(res, load, phase):
    rate = res.rate(load, phase)
    out = [f"#### {LOADS[load]}, {rate:g} requests/s ({phase} rate)", "",
           "| target | conns | n | p50 | p99 | p99.9 | added p50 | added p99 | added p99.9 "
           "| added p50, p99 ×bare | added p50, p99 ×LiteLLM |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in res.concurrencies(load, phase):
        for target in res.targets:
            run = res.run(target, load, c, phase)
            if not run:
                continue
            lat = run["report"]["latency_us"]
            if not run["sustained"]:
                why = "gave up (queue over 2× the bound)" if run["report"]["gave_up"] \
                    else f"p99 {ms(lat['p99'])} ms, {run['report']['errors']} errors"
                out.append(f"| {TARGETS[target]} | {c} | {run['report']['ok']} "
                           f"| not sustained: {why} | | | | | | | |")
                continue
            if target == "direct":
                out.append(f"| {TARGETS[target]} | {c} | {run['report']['ok']} "
                           f"| {ms(lat['p50'])} | {ms(lat['p99'])} | {ms(lat['p999'])} "
                           "| (baseline) | | | | |")
                continue
            add = {q: res.added(target, load, c, phase, q) for q in ("p50", "p99", "p999")}
            vs = {}
            for base in ("bare", "litellm"):
                vs[base] = " · ".join(ratio(add[q], res.added(base, load, c, phase, q))
                                      for q in ("p50", "p99"))
            out.append(
                f"| {TARGETS[target]} | {c} | {run['report']['ok']} "
                f"| {ms(lat['p50'])} | {ms(lat['p99'])} "
                f"| {ms(lat['p999'])} | {ms(add['p50'])} | {ms(add['p99'])} "
                f"| {ms(add['p999'])} | {vs['bare']} | {vs['litellm']} |")
    return out + [""]


def rate_table(res):
    cols = [(load, c) for load in LOADS for c in (1, 64, 512)
            if any(f"{load}/{c}" in t.get("max_sustained_rate", {})
                   for t in res.targets.values())]
    head = " | ".join(f"{load} ×{c}" for load, c in cols)
    out = [f"| target | {head} |", "| --- |" + " ---: |" * len(cols)]
    for target in res.targets:
        cells = []
        for load, c in cols:
            r = res.sustained_rate(target, load, c)
            if r is None:
                searched = f"{load}/{c}" in res.targets[target].get("max_sustained_rate", {})
                cells.append("none" if searched else "—")
                continue
            cells.append(f"{r:g}/s · {ratio(r, res.sustained_rate('bare', load, c))} · "
                         f"{ratio(r, res.sustained_rate('litellm', load, c))}")
        out.append(f"| {TARGETS[target]} | " + " | ".join(cells) + " |")
    return out + [""]


def cost_table(res):
    out = ["| target | CPU µs/request (small) | ×bare · ×LiteLLM | CPU µs/stream "
           "| ×bare · ×LiteLLM | CPU µs/chunk | over bare, µs/chunk | idle CPU % "
           "| idle RSS MB | peak RSS MB, 512 small | peak RSS MB, 512 streams "
           "| ×bare · ×LiteLLM |",
           "| --- |" + " ---: |" * 11]
    for target in res.targets:
        small, stream = res.cpu_per_request(target, "small"), \
            res.cpu_per_request(target, "stream")
        rss = res.peak_rss(target, "stream", 512)

        def vs(f, value):
            return f"{ratio(value, f('bare'))} · {ratio(value, f('litellm'))}"

        chunk, over = res.cpu_per_chunk(target), res.cpu_per_chunk_over_bare(target)
        out.append(
            f"| {TARGETS[target]} | {small and f'{small:.1f}' or '—'} "
            f"| {vs(lambda t: res.cpu_per_request(t, 'small'), small)} "
            f"| {stream and f'{stream:.1f}' or '—'} "
            f"| {vs(lambda t: res.cpu_per_request(t, 'stream'), stream)} "
            f"| {'—' if chunk is None else f'{chunk:.2f}'} "
            f"| {'—' if over is None or target in ('direct', 'bare') else f'{over:.2f}'} "
            f"| {100 * res.targets[target]['idle_cpu_share']:.1f} "
            f"| {mb(res.targets[target]['idle_rss_kb'])} "
            f"| {mb(res.peak_rss(target, 'small', 512))} | {mb(rss)} "
            f"| {vs(lambda t: res.peak_rss(t, 'stream', 512), rss)} |")
    return out + [""]


def goals(res):
    """The issue's targets for one Switchboard node, each met or missed."""
    if "switchboard" not in res.targets:
        return []
    sb, c = "switchboard", COST_CONCURRENCY

    def check(ok):
        return "—" if ok is None else ("met" if ok else "**missed**")

    def within(value, base, limit):
        if value is None or base is None or base <= 0:
            return None
        return value <= limit * base

    lines = ["| goal | measured | |", "| --- | --- | --- |"]
    for q in ("p50", "p99"):
        a, b = res.added(sb, "small", c, "busy", q), res.added("bare", "small", c, "busy", q)
        lines.append(f"| added latency at {q} within 1.2× the bare proxy's (small, "
                     f"{res.rate('small', 'busy'):g}/s, {c} conns) | {ms(a)} ms vs {ms(b)} ms "
                     f"({ratio(a, b)}) | {check(within(a, b, 1.2))} |")
    r, b, lite = res.sustained_rate(sb, "small", c), res.sustained_rate("bare", "small", c), \
        res.sustained_rate("litellm", "small", c)
    lines.append(f"| at least 0.8× the bare proxy's throughput (small, {c} conns) "
                 f"| {per_s(r)} vs {per_s(b)} ({ratio(r, b)}) "
                 f"| {check(None if r is None or b is None else r >= 0.8 * b)} |")
    lines.append(f"| at least 100× LiteLLM's throughput at the same p99 bound "
                 f"| {per_s(r)} vs {per_s(lite)} ({ratio(r, lite)}) "
                 f"| {check(None if r is None or not lite else r >= 100 * lite)} |")
    chunk = res.added_per_chunk_at_equal_load(sb)
    lines.append(f"| under 2 µs added per streamed chunk (CPU beyond the bare proxy's, both at "
                 f"{res.rate('stream', 'busy'):g} streams/s and {res.rate('small', 'busy'):g} "
                 f"calls/s, {c} conns) | {'—' if chunk is None else f'{chunk:.2f} µs'} "
                 f"| {check(None if chunk is None else chunk < 2)} |")
    own = res.cpu_per_chunk_over_bare(sb)
    lines.append(f"| (the same, each at its own highest sustained rate, as in the CPU table) | "
                 f"{'—' if own is None else f'{own:.2f} µs'} | |")
    idle, peak = res.targets[sb]["idle_rss_kb"], res.peak_rss(sb, "stream", 512)
    lines.append(f"| under 64 MB RSS idle | {mb(idle)} MB | {check(idle < 64 * 1024)} |")
    lines.append(f"| under 150 MB RSS with 512 concurrent streams | {mb(peak)} MB "
                 f"| {check(None if peak is None else peak < 150 * 1024)} |")
    return lines + [""]


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return os.cpu_count(), cpu, platform.release()


def render(res, args):
    nproc, cpu, kernel = machine()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    loads = ", ".join(f"{t}: {' '.join(res.targets[t]['loadavg_at_start'])}"
                      for t in res.targets)
    late = sorted(r["report"]["pacer_late_us"]["p99"] for t in res.targets.values()
                  for r in t["runs"])
    out = [
        "# Load benchmarks: Switchboard against the floor and against LiteLLM", "",
        f"Written by `{args.command}` ({res.profile} profile) on {when}.", "",
        f"- machine: {nproc} CPUs, {cpu}, Linux {kernel}",
        f"- commit: {args.commit}",
        f"- LiteLLM {args.litellm} (`litellm[proxy]` from PyPI, one uvicorn worker), "
        f"HAProxy {args.haproxy}",
        f"- load average (1, 5, 15 min) when each target started: {loads}",
        "- pinning: every process of the system under test and mock-llm on CPU 0, the load "
        "generator on CPU 1 (`taskset`), so the generator never competes with what it "
        "measures. Rates a target sustains are therefore what one core does for the target "
        "and mock-llm together; CPU per request counts the target's own processes only.",
        f"- p99 bounds for a sustained rate: small requests {res.bounds['small']:g} ms, "
        f"streams {res.bounds['stream']:g} ms; a run is sustained when it also had at most "
        "0.1% errors and no request waited more than twice the bound for a free "
        "connection.",
        f"- load generator timer slack: the pacer released requests late by {ms(late[len(late) // 2])} "
        f"ms at p99 in the median run, {ms(late[-1])} ms in the worst (latency counts from "
        "the release, so this is not in the figures; it bunches requests up).",
        "",
        "## How to read this", "",
        "Loads are open-loop: requests are offered at a constant rate whatever the target "
        "does, over 1, 64 or 512 keep-alive connections, and each request's latency runs "
        "from the moment it was due to its last byte (a target that stalls is charged for "
        "the queue behind the stall). *Added* latency is the target's minus mock-llm's "
        "answering directly at the same load; ×bare and ×LiteLLM divide a figure by the "
        "bare proxy's and LiteLLM's (for latency: added by added). Times are in ms.", "",
        "## Latency at a rate every target sustains", "",
    ]
    for load in LOADS:
        out += latency_table(res, load, "light")
    out += ["## Latency under load", ""]
    for load in LOADS:
        out += latency_table(res, load, "busy")
    out += ["## Highest rate sustained under the p99 bound", "",
            "Each cell: requests/s · ×bare proxy · ×LiteLLM.", ""]
    out += rate_table(res)
    out += ["## CPU and memory", "",
            f"CPU time of the target's processes (user + system, from /proc/PID/stat) per "
            f"request, over its sustained run with the highest rate at {COST_CONCURRENCY} "
            f"connections; per chunk: (per stream − per small request) / {CHUNKS}, and that "
            "less the bare proxy's (what relaying a chunk through any proxy costs). For the "
            "direct target that is mock-llm itself, for the cluster the three nodes and "
            "HAProxy. Idle CPU: the share of one CPU the target used over 2 s before any "
            "load (background work: timers, gossip, health checks). Peak RSS is VmHWM "
            "summed over the processes, reset before each run.",
            ""]
    out += cost_table(res)
    if goals(res):
        out += ["## The issue's goals for one node", ""] + goals(res)
    out += ["## Commands", "", "```sh", args.command, "```", "",
            "Each target is started as below (from the repository root), then every run is "
            "one `loadgen` invocation:", "", "```sh"]
    with open(os.path.join(args.results, "commands.txt")) as f:
        out += [line.rstrip("\n") for line in f]
    out += ["```", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", required=True, help="the command that ran the benchmark")
    parser.add_argument("--litellm", default="?")
    parser.add_argument("--haproxy", default="?")
    parser.add_argument("--commit", default="?", help="what was measured")
    args = parser.parse_args()
    text = render(Results(args.results), args)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
