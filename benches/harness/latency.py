#!/usr/bin/env python3
"""Added latency judged on repeated, interleaved rounds.

Called by benches/run while mock-llm, a bare proxy and one Switchboard node are all up:

    latency.py --target direct http://127.0.0.1:18100/v1/chat/completions sk-mock \\
        --target bare http://127.0.0.1:18120/v1/chat/completions sk-mock \\
        --target switchboard http://127.0.0.1:18210/v1/chat/completions sk-switchboard-bench \\
        --rounds 7 --seconds 4 --loadgen target/release/loadgen \\
        --out target/bench/results/latency.json

The suite measures each target once, minutes apart from the next, and on a small VM
mock-llm's own p99 at 1000 calls/s varies from 1.3 to 17 ms between such runs: the
difference of two single runs is noise. Here every round runs the same small load against
each target in turn, so a target's added latency is taken against mock-llm direct a few
seconds earlier, in the same round; the report gives medians over the rounds and their
spread. The body is the suite's small one for every target (mock-llm answers any model
name, so direct and bare take `bench-small` as the gateways do).
"""

import argparse
import json
import os
import statistics
import sys
import time

from suite import LOADS, REQUEST_TIMEOUT_S, loadgen_command, run_loadgen, sustained

SMALL = next(load for load in LOADS if load.name == "small")
RATE = 1000
CONCURRENCY = 64
# Untimed, one per connection: every connection has carried a request before the timed
# ones, so the first round does not pay for cold connections the others do not.
WARMUP = CONCURRENCY
QUANTILES = ("p50", "p99", "p999")


def measure(args):
    """R rounds of (for each target in the order given: one run). Returns the document
    latency.json holds."""
    started = time.time()
    loadavg = open("/proc/loadavg").read().split()[:3]
    runs = []
    for rnd in range(1, args.rounds + 1):
        for name, url, key in args.target:
            cmd = loadgen_command(args.loadgen, args.loadgen_cpu, url, key, SMALL.body, RATE,
                                  CONCURRENCY, args.seconds, REQUEST_TIMEOUT_S,
                                  2 * SMALL.p99_bound_ms / 1000, WARMUP)
            report = run_loadgen(cmd, args.seconds, REQUEST_TIMEOUT_S)
            ok = sustained(report, SMALL)
            runs.append({"round": rnd, "target": name, "sustained": ok, "report": report})
            lat = report["latency_us"]
            print(
                f"  {name:<12} round {rnd}/{args.rounds} c={CONCURRENCY:<3} {RATE:>6g}/s  "
                f"ok {report['ok']:>6}  err {report['errors']:>4}  "
                f"p50 {lat['p50'] / 1000:8.3f} ms  p99 {lat['p99'] / 1000:8.3f} ms  "
                f"p99.9 {lat['p999'] / 1000:8.3f} ms  {'sustained' if ok else 'NOT sustained'}",
                file=sys.stderr, flush=True,
            )
            # Let the target close the run's connections; after an overloaded run, give it
            # a moment more to work off its queue (bounded, unlike the suite's settle: the
            # next target in the round is a different process anyway).
            time.sleep(0.3 if ok else 2.0)
    return {
        "load": SMALL.name, "rate": RATE, "concurrency": CONCURRENCY,
        "seconds_per_run": args.seconds, "rounds": args.rounds,
        "targets": [name for name, _, _ in args.target],
        "loadavg_at_start": loadavg, "seconds": time.time() - started, "runs": runs,
    }


def summarise(data):
    """Per target, over the rounds in which every target sustained the load: the median of
    its p50, p99 and p99.9 and, for all but `direct`, its latency added over direct in the
    same round (median, min, max and each round's). A round in which one target did not
    keep up is left out for all: its added latency would compare a queue with a run."""
    by = {(r["round"], r["target"]): r for r in data["runs"]}
    rounds = sorted({r["round"] for r in data["runs"]})
    kept = [n for n in rounds
            if all((n, t) in by and by[(n, t)]["sustained"] for t in data["targets"])]
    out = {"rounds": kept, "left_out": [n for n in rounds if n not in kept], "targets": {}}

    def q(n, t, quantile):
        return by[(n, t)]["report"]["latency_us"][quantile]

    for t in data["targets"]:
        fig = {"median": {k: statistics.median(q(n, t, k) for n in kept) if kept else None
                          for k in QUANTILES}}
        if t != "direct" and "direct" in data["targets"]:
            fig["added"] = {}
            for k in QUANTILES:
                per_round = [q(n, t, k) - q(n, "direct", k) for n in kept]
                fig["added"][k] = {
                    "median": statistics.median(per_round) if kept else None,
                    "min": min(per_round, default=None),
                    "max": max(per_round, default=None),
                    "rounds": per_round,
                }
        out["targets"][t] = fig
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", nargs=3, action="append", required=True,
                        metavar=("NAME", "URL", "KEY"),
                        help="a target, in the order each round runs them; `direct` is the "
                             "baseline of the added latency")
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True, help="per run")
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--loadgen-cpu", help="taskset CPU list for loadgen")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data = measure(args)
    data["summary"] = summarise(data)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1)
    for t, fig in data["summary"]["targets"].items():
        added = fig.get("added")
        if added and added["p99"]["median"] is not None:
            print(f"  {t:<12} added over direct, median of {len(data['summary']['rounds'])} "
                  f"rounds: p50 {added['p50']['median'] / 1000:.3f} ms, "
                  f"p99 {added['p99']['median'] / 1000:.3f} ms "
                  f"({added['p99']['min'] / 1000:.3f} to {added['p99']['max'] / 1000:.3f})",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
