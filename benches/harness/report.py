#!/usr/bin/env python3
"""Turns the suite's measurements (one JSON file per target) into RESULTS.md.

    report.py --results target/bench/results --out benches/RESULTS.md \\
        --command "benches/run" --litellm "1.100.5" --haproxy "2.6.12"

Every figure is compared with mock-llm answering directly (the added latency) and given as
a ratio to the bare proxy (the floor) and to LiteLLM. The latency goals are judged on the
interleaved rounds of latency.py (latency.json) when they ran, on single runs otherwise.
"""

import argparse
import datetime
import json
import os
import platform

from latency import summarise

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
# The goal of another issue: "overhead p99 under 500 microseconds at 1,000 requests/s".
ADDED_P99_GOAL_US = 500


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
        # The interleaved latency rounds, when they ran (bare and switchboard both wanted).
        self.latency = None
        path = os.path.join(directory, "latency.json")
        if os.path.exists(path):
            with open(path) as f:
                self.latency = json.load(f)
            self.latency.setdefault("summary", summarise(self.latency))

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
        """The highest VmHWM over every run at that load and concurrency, the search's
        overloaded steps included: with requests queued, not a measure of open streams."""
        runs = [r for r in self.targets.get(target, {}).get("runs", [])
                if r["load"] == load and r["concurrency"] == concurrency]
        return max((r["peak_rss_kb"] for r in runs), default=None)

    def open_streams(self, target):
        """The suite's measurement with about 512 streams open at once, if it was made."""
        found = self.targets.get(target, {}).get("open_streams")
        return found if found and "report" in found else None

    def open_rss(self, target):
        found = self.open_streams(target)
        return found["peak_rss_kb"] if found else None

    def rounds_added(self, target, q):
        """The median over the interleaved rounds of a target's latency added over mock-llm
        direct in the same round, with its lowest and highest round; None without rounds."""
        if not self.latency:
            return None
        added = self.latency["summary"]["targets"].get(target, {}).get("added", {}).get(q)
        return added if added and added["median"] is not None else None


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
           "| idle RSS MB | peak RSS MB, 512 small | peak RSS MB, 512 streams open "
           "| ×bare · ×LiteLLM | peak RSS MB over all 512-connection stream runs, overloaded "
           "steps included |",
           "| --- |" + " ---: |" * 12]
    for target in res.targets:
        small, stream = res.cpu_per_request(target, "small"), \
            res.cpu_per_request(target, "stream")
        rss = res.open_rss(target)

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
            f"| {vs(res.open_rss, rss)} | {mb(res.peak_rss(target, 'stream', 512))} |")
    return out + [""]


def spread(added):
    """A median over rounds with its lowest and highest round: `0.123 (0.050 to 0.200)`."""
    if not added:
        return "—"
    return f"{ms(added['median'])} ({ms(added['min'])} to {ms(added['max'])})"


def rounds_section(res):
    """The interleaved rounds: medians per target, each round's figures, and the p99 goal."""
    lat = res.latency
    summary = lat["summary"]
    kept, names = summary["rounds"], lat["targets"]
    out = [f"## Added latency over {lat['rounds']} interleaved rounds", "",
           f"{LOADS[lat['load']].capitalize()}, {lat['rate']:g} requests/s over "
           f"{lat['concurrency']} connections, {lat['seconds_per_run']:g} s per run. "
           "Mock-llm direct, a bare proxy and one node (its own processes, not the ones "
           "above) were all up at once and measured in turn, round after round, so a "
           "target's added latency is its percentile minus mock-llm direct's in the same "
           "round, runs seconds apart. The single runs above are minutes apart, and mock-llm's "
           "own p99 varies more than the added latency between such runs. Below, medians "
           "over the rounds, and for added latency the lowest and highest round in brackets. "
           "The goals are judged on these medians.", ""]
    if summary["left_out"]:
        out += [f"Left out of the medians: round{'s' if len(summary['left_out']) > 1 else ''} "
                f"{', '.join(map(str, summary['left_out']))}, in which a target did not "
                "sustain the load (see the rounds below).", ""]
    out += ["| target | rounds | p50 | p99 | p99.9 | added p50 | added p99 | added p99.9 "
            "| added p50, p99 ×bare |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in names:
        fig = summary["targets"][t]
        med = fig["median"]
        row = f"| {TARGETS.get(t, t)} | {len(kept)} | {ms(med['p50'])} | {ms(med['p99'])} " \
              f"| {ms(med['p999'])} "
        if "added" not in fig:
            out.append(row + "| (baseline) | | | |")
            continue
        add = fig["added"]
        vs = " · ".join(ratio(add[q]["median"], (res.rounds_added("bare", q) or {}).get("median"))
                        for q in ("p50", "p99"))
        out.append(row + f"| {spread(add['p50'])} | {spread(add['p99'])} "
                   f"| {spread(add['p999'])} | {vs} |")
    out += ["", "Each round (p50 · p99 · p99.9; for the proxies, added over direct in the "
            "same round):", "",
            "| round | " + " | ".join(TARGETS.get(t, t) for t in names) + " |",
            "| ---: |" + " ---: |" * len(names)]
    by = {(r["round"], r["target"]): r for r in lat["runs"]}
    for n in sorted({r["round"] for r in lat["runs"]}):
        cells = []
        for t in names:
            run, direct = by.get((n, t)), by.get((n, "direct"))
            if not run:
                cells.append("—")
                continue
            q = run["report"]["latency_us"]
            if t == "direct" or not direct:
                cell = " · ".join(ms(q[k]) for k in ("p50", "p99", "p999"))
            else:
                d = direct["report"]["latency_us"]
                cell = " · ".join(ms(q[k] - d[k]) for k in ("p50", "p99", "p999"))
            cells.append(cell if run["sustained"] else f"{cell} (not sustained)")
        mark = "" if n in kept else " (left out)"
        out.append(f"| {n}{mark} | " + " | ".join(cells) + " |")
    added = res.rounds_added("switchboard", "p99")
    if added:
        ok = added["median"] < ADDED_P99_GOAL_US
        # How many rounds were under the bound on their own: a median just under it with
        # half the rounds far above says less than most rounds under it.
        under = sum(
            1 for n in kept
            if (n, "switchboard") in by and (n, "direct") in by
            and by[(n, "switchboard")]["report"]["latency_us"]["p99"]
            - by[(n, "direct")]["report"]["latency_us"]["p99"] < ADDED_P99_GOAL_US)
        out += ["", "| goal | measured | |", "| --- | --- | --- |",
                f"| Switchboard's added p99 under {ADDED_P99_GOAL_US / 1000:g} ms at "
                f"{lat['rate']:g} requests/s (median over rounds) | {spread(added)} ms; "
                f"{under} of {len(kept)} rounds under it on their own "
                f"| {'met' if ok else '**missed**'} |"]
    return out + [""]


def open_streams_table(res):
    """Memory with about 512 streams open at once, per target."""
    rows = [(t, res.open_streams(t)) for t in res.targets]
    rows = [(t, o) for t, o in rows if o]
    if not rows:
        return []
    first = rows[0][1]
    out = ["## Memory with 512 streams open", "",
           f"Streams of 50 chunks 40 ms apart (about 2 s each; mock-llm's "
           f"`{'`, `'.join(first['headers'])}`, sent by the gateways' `bench-slow-stream` "
           f"model), offered at {first['rate']:g}/s over {first['concurrency']} connections "
           f"for {first['duration_s']:g} s, on the target before any other load. A stream "
           "asked for 2 s holds its connection a little longer (2.02 s on an idle mock-llm, "
           "more on a busy CPU), so the connections are soon all busy and a few streams wait "
           "for one: first byte counts from when a stream was due, that wait included. Open at "
           "once: rate × the median time a stream held its connection (last byte less first "
           "byte; Little's law), at most the connections. Peak RSS is VmHWM summed over the "
           "target's processes, reset before the run. Completed: streams that ended with "
           "`[DONE]`, of those offered; a target that does not keep up completes fewer, and "
           "the run gives up (sends no more) once a stream has waited 2 s for a free "
           "connection.", "",
           "| target | offered | sent | completed | errors | open at once | first byte p50 "
           "| last byte p50 | last byte p99 | RSS before MB | peak RSS MB | ×bare · ×LiteLLM |",
           "| --- |" + " ---: |" * 11]
    for t, o in rows:
        r, lat, first_byte = o["report"], o["report"]["latency_us"], o["report"]["first_byte_us"]
        n_open = "—" if o["open_at_once"] is None else f"≈{o['open_at_once']:.0f}"
        note = ", gave up" if r["gave_up"] else ""
        out.append(
            f"| {TARGETS[t]} | {r['offered']} | {r['sent']} "
            f"| {r['ok']} ({100 * o['completed_share']:.1f}%{note}) | {r['errors']} | {n_open} "
            f"| {ms(first_byte['p50'])} | {ms(lat['p50'])} | {ms(lat['p99'])} "
            f"| {mb(o['rss_before_kb'])} | {mb(o['peak_rss_kb'])} "
            f"| {ratio(o['peak_rss_kb'], res.open_rss('bare'))} · "
            f"{ratio(o['peak_rss_kb'], res.open_rss('litellm'))} |")
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
        if res.rounds_added(sb, q) and res.rounds_added("bare", q):
            # Medians over the interleaved rounds: single runs minutes apart are noise here.
            a, b = res.rounds_added(sb, q)["median"], res.rounds_added("bare", q)["median"]
            how = (f"small, {res.latency['rate']:g}/s, {res.latency['concurrency']} conns; "
                   f"median of {len(res.latency['summary']['rounds'])} interleaved rounds")
        else:
            a, b = res.added(sb, "small", c, "busy", q), res.added("bare", "small", c, "busy", q)
            how = f"small, {res.rate('small', 'busy'):g}/s, {c} conns; single runs"
        # A bare proxy adding nothing measurable (noise makes it negative) leaves no ratio.
        vs = "the bare proxy's is not above zero: no ratio" if b is not None and b <= 0 \
            else ratio(a, b)
        lines.append(f"| added latency at {q} within 1.2× the bare proxy's ({how}) "
                     f"| {ms(a)} ms vs {ms(b)} ms ({vs}) | {check(within(a, b, 1.2))} |")
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
    if (chunk is not None and chunk < 0) or (own is not None and own < 0):
        lines.append("| (below zero: a node sends events that reached it together in one write, "
                     "the bare proxy writes each event on its own; benches/PROFILE.md) | | |")
    idle, opened = res.targets[sb]["idle_rss_kb"], res.open_streams(sb)
    lines.append(f"| under 64 MB RSS idle | {mb(idle)} MB | {check(idle < 64 * 1024)} |")
    if opened:
        peak = opened["peak_rss_kb"]
        n_open = "—" if opened["open_at_once"] is None else f"≈{opened['open_at_once']:.0f}"
        lines.append(f"| under 150 MB RSS with 512 concurrent streams | {mb(peak)} MB with "
                     f"{n_open} open, {100 * opened['completed_share']:.1f}% completed "
                     f"| {check(peak < 150 * 1024)} |")
    else:
        lines.append("| under 150 MB RSS with 512 concurrent streams | not measured | — |")
    lines.append(f"| (peak over all 512-connection stream runs, overloaded steps included) "
                 f"| {mb(res.peak_rss(sb, 'stream', 512))} MB | |")
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
    if res.latency:
        out += rounds_section(res)
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
            "summed over the processes, reset before each run; with 512 streams open it is "
            "the measurement below, and the last column, the highest over every "
            "512-connection stream run, includes the search's overloaded steps, where "
            "requests pile up in queues.",
            ""]
    out += cost_table(res)
    out += open_streams_table(res)
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
