#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/report.py DIR - bench/run.sh's report from DIR/raw.jsonl and DIR/meta.txt.

Prints the Markdown report (medians per stack, then per-round ratios of
sandnet against each peer: the median of the rounds' ratios and their
range) and the issue's targets, each with its same-run ratio and whether
it is met; writes all of it, and every raw measurement, to DIR/results.json.
Only ratios taken within a round compare like with like: the machine's
load changes between rounds.
"""
import json
import statistics
import sys

# figure: (label, unit, higher is better)
FIGURES = {
    "tcp_up_1": ("TCP up, 1 stream", "Mbit/s", True),
    "tcp_down_1": ("TCP down, 1 stream", "Mbit/s", True),
    "tcp_up_4": ("TCP up, 4 streams", "Mbit/s", True),
    "tcp_down_4": ("TCP down, 4 streams", "Mbit/s", True),
    "cpu_up": ("stack CPU, TCP up", "% core per Gbit/s", False),
    "cpu_down": ("stack CPU, TCP down", "% core per Gbit/s", False),
    "udp_up": ("UDP up", "Mbit/s received", True),
    "udp_up_loss": ("UDP up, lost", "%", False),
    "udp_down": ("UDP down", "Mbit/s received", True),
    "udp_down_loss": ("UDP down, lost", "%", False),
    "rr_rate": ("TCP request/response", "transactions/s", True),
    "rr_p50_us": ("TCP request/response p50", "us", False),
    "rr_p99_us": ("TCP request/response p99", "us", False),
    "crr_rate": ("connect + 1 byte each way + close", "connections/s", True),
    "rss_idle_kib": ("RSS idle", "KiB", False),
    "rss_conns_kib": ("RSS with the idle connections", "KiB", False),
    "rss_per_conn_kib": ("RSS added per idle connection", "KiB", False),
    "rss_peak_kib": ("RSS peak (VmHWM)", "KiB", False),
    "wakeups_per_s": ("wake-ups of an idle sandbox", "per second", False),
}
STACKS = ["sandnet", "pasta", "slirp4netns", "veth", "relay"]
PEERS = ["pasta", "slirp4netns", "veth", "relay"]


def load(d):
    """Read raw.jsonl: measurements by (figure, mtu, stack, round), round metadata."""
    vals, rounds = {}, {}
    with open(f"{d}/raw.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if "meta" in r:
                rounds[r["round"]] = r["meta"]
            elif r["value"] is not None:
                vals[(r["figure"], r["mtu"], r["stack"], r["round"])] = float(r["value"])
    return vals, rounds


def fmt(v):
    """A value for the table: whole numbers above 100, else 3 significant digits."""
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


class Report:
    """Medians and per-round ratios over the measurements of one run."""

    def __init__(self, vals):
        self.vals = vals
        self.rounds = sorted({k[3] for k in vals})

    def series(self, fig, mtu, stack):
        """The figure's value in each round, None where it is missing."""
        return [self.vals.get((fig, mtu, stack, r)) for r in self.rounds]

    def median(self, fig, mtu, stack):
        v = [x for x in self.series(fig, mtu, stack) if x is not None]
        return statistics.median(v) if v else None

    def ratios(self, a, b):
        """Per-round a/b of two series (lists of per-round values)."""
        return [x / y for x, y in zip(a, b) if x is not None and y]

    @staticmethod
    def summary(rs):
        if not rs:
            return None
        return {"median": statistics.median(rs), "min": min(rs), "max": max(rs), "n": len(rs)}

    @staticmethod
    def cell(s):
        if not s:
            return "-"
        if s["n"] == 1:
            return f"{s['median']:.2f}"
        return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def better_of(a, b):
    """Per-round maximum of two series: a peer's better direction."""
    return [max(x, y) if x is not None and y is not None else None for x, y in zip(a, b)]


def targets(rep, mtus, misc):
    """The issue's targets: (what, summary of per-round ratios or values, threshold, >= or <=)."""
    out = []
    s = rep.series

    def add(what, values, limit, ge):
        sm = rep.summary(values)
        met = None if not sm or limit is None else (sm["median"] >= limit if ge else sm["median"] <= limit)
        out.append({"target": what, "measured": sm, "limit": limit, "ge": ge, "met": met})

    for mtu in mtus:
        for n in (1, 4):
            pasta_best = better_of(s(f"tcp_up_{n}", mtu, "pasta"), s(f"tcp_down_{n}", mtu, "pasta"))
            for d in ("up", "down"):
                sn = s(f"tcp_{d}_{n}", mtu, "sandnet")
                tag = f"TCP {d}, {n} stream{'s' if n > 1 else ''}, MTU {mtu}"
                if mtu == 1500:
                    add(f"{tag}: >= 3x slirp4netns", rep.ratios(sn, s(f"tcp_{d}_{n}", mtu, "slirp4netns")), 3, True)
                    add(f"{tag}: >= 2x pasta's better direction", rep.ratios(sn, pasta_best), 2, True)
                elif n == 1:
                    add(f"{tag}: >= 1.0x pasta's better direction", rep.ratios(sn, pasta_best), 1, True)
                    add(f"{tag}: >= 0.9x veth", rep.ratios(sn, s(f"tcp_{d}_{n}", mtu, "veth")), 0.9, True)
                    # not a target: what one process in the path, doing less per byte than any stack, gets of veth
                    if any(v is not None for v in s(f"tcp_{d}_{n}", mtu, "relay")):
                        add(f"{tag}: one process in the path, relay / veth (reference)",
                            rep.ratios(s(f"tcp_{d}_{n}", mtu, "relay"), s(f"tcp_{d}_{n}", mtu, "veth")), None, True)
                else:
                    add(f"{tag}: >= 1.0x pasta", rep.ratios(sn, s(f"tcp_{d}_{n}", mtu, "pasta")), 1, True)
        for d in ("up", "down"):
            add(f"stack CPU per Gbit/s, TCP {d}, MTU {mtu}: <= pasta's (ratio)",
                rep.ratios(s(f"cpu_{d}", mtu, "sandnet"), s(f"cpu_{d}", mtu, "pasta")), 1, False)
    for d in ("up", "down"):
        add(f"UDP {d}, MTU {misc}: throughput >= pasta's (ratio)",
            rep.ratios(s(f"udp_{d}", misc, "sandnet"), s(f"udp_{d}", misc, "pasta")), 1, True)
        loss = [a - b for a, b in zip(s(f"udp_{d}_loss", misc, "sandnet"), s(f"udp_{d}_loss", misc, "pasta"))
                if a is not None and b is not None]
        add(f"UDP {d}: no more loss than pasta (difference, percentage points)", loss, 0, False)
    for f in ("rr_p50_us", "rr_p99_us"):
        add(f"{FIGURES[f][0]} <= pasta's (ratio)", rep.ratios(s(f, misc, "sandnet"), s(f, misc, "pasta")), 1, False)
    add("connection rate >= pasta's (ratio)", rep.ratios(s("crr_rate", misc, "sandnet"), s("crr_rate", misc, "pasta")), 1, True)
    add("RSS idle <= 4 MiB (KiB)", [v for v in s("rss_idle_kib", misc, "sandnet") if v is not None], 4096, False)
    add("RSS per idle connection <= 32 KiB (KiB)", [v for v in s("rss_per_conn_kib", misc, "sandnet") if v is not None], 32, False)
    add("idle wake-ups: none while nothing is due (per second, < 0.5)",
        [v for v in s("wakeups_per_s", None, "sandnet") if v is not None], 0.5, False)
    return out


def main():
    d = sys.argv[1]
    vals, rounds = load(d)
    rep = Report(vals)
    meta = open(f"{d}/meta.txt").read().strip().splitlines()
    stacks = [st for st in STACKS if any(k[2] == st for k in vals)]
    peers = [p for p in PEERS if p in stacks]
    mtus = sorted({k[1] for k in vals if k[1] is not None and k[0].startswith("tcp_")})
    misc = max(mtus) if mtus else None
    for m in meta:
        if m.startswith("settings:") and "the rest at " in m:
            misc = int(m.split("the rest at ")[1].split(")")[0])

    print("### Results\n")
    for m in meta:
        print(f"- {m}")
    for r in sorted(rounds):
        mt = rounds[r]
        print(f"- round {r}: load {mt['load']} (waited {mt['waited_s']} s); busiest: {mt['top']}")
    print()
    print("Medians over the rounds; ratios are sandnet / peer, the median of the rounds' ratios "
          "(their range). Up is guest to host.\n")
    print("| figure | " + " | ".join(stacks) + " | " + " | ".join(f"sandnet/{p}" for p in peers) + " |")
    print("|---" * (1 + len(stacks) + len(peers)) + "|")
    rows = []
    # throughput and CPU grouped by MTU, then the rest
    order = [(f, m) for m in mtus for f in FIGURES if f.startswith(("tcp", "cpu"))]
    order += [(f, m) for f in FIGURES if not f.startswith(("tcp", "cpu"))
              for m in sorted({k[1] for k in vals if k[0] == f}, key=lambda x: -1 if x is None else x)]
    for fig, mtu in order:
        label, unit, hi = FIGURES[fig]
        if not any(k[0] == fig and k[1] == mtu for k in vals):
            continue
        name = f"{label}{', MTU %d' % mtu if mtu is not None and fig.startswith(('tcp', 'cpu')) else ''}"
        meds = {st: rep.median(fig, mtu, st) for st in stacks}
        rat = {p: rep.summary(rep.ratios(rep.series(fig, mtu, "sandnet"), rep.series(fig, mtu, p)))
               for p in peers}
        rows.append({"figure": fig, "mtu": mtu, "label": name, "unit": unit,
                     "higher_is_better": hi, "medians": meds, "ratios": rat})
        print(f"| {name} ({unit}, {'higher' if hi else 'lower'} is better) | "
              + " | ".join(fmt(meds[st]) for st in stacks) + " | "
              + " | ".join(rep.cell(rat[p]) for p in peers) + " |")
    tg = targets(rep, mtus, misc) if "sandnet" in stacks else []
    print("\n### Targets (issue 9), same-run ratios\n")
    print("| target | measured: median (range) | met |")
    print("|---|---|---|")
    for t in tg:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        if t["limit"] is None:
            met = "reference"
        print(f"| {t['target']} | {rep.cell(t['measured'])} | {met} |")
    json.dump({"meta": meta, "rounds": rounds, "figures": rows, "targets": tg,
               "raw": [{"figure": k[0], "mtu": k[1], "stack": k[2], "round": k[3], "value": v}
                       for k, v in sorted(vals.items(), key=lambda kv: str(kv[0]))]},
              open(f"{d}/results.json", "w"), indent=1)


if __name__ == "__main__":
    main()
