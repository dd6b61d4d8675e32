#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_smoke: bench/run.sh, as the README runs it, produces its report from
# this build: one short round of sandnet, the veth pair and the relay (the
# stacks this project owns; peers' versions vary by machine), every figure
# each of them should have, present and, for throughput and rates, non-zero.
# No figure is compared with a limit: speed is the bench's business, never
# a test's.
#
# Usage: smoke.sh SOURCE_DIR SANDNET SNBENCH
set -euo pipefail
src=$1 sandnet=$2 snbench=$3
out=$(mktemp -d /tmp/sn-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT

timeout 280 bash "$src/bench/run.sh" --sandnet "$sandnet" --snbench "$snbench" \
	--stacks "sandnet veth relay" --rounds 1 --time 1 --mtus 65520 \
	--udp-rate 20M --conns 20 --idle 1 --quiet-wait 0 --out "$out" \
	>"$out/stdout" 2>"$out/stderr" || {
	echo "bench_smoke: run.sh failed"; tail -20 "$out/stderr"; exit 1
}
grep -q '^| figure | sandnet | veth | relay |' "$out/results.md" ||
	{ echo "bench_smoke: no figures table"; cat "$out/results.md"; exit 1; }
grep -q '^| target | measured' "$out/results.md" ||
	{ echo "bench_smoke: no targets table"; exit 1; }
cmp -s "$out/stdout" "$out/results.md" || { echo "bench_smoke: stdout is not results.md"; exit 1; }

python3 - "$out/results.json" <<'PY'
import json, sys

figs = {f["figure"]: f["medians"] for f in json.load(open(sys.argv[1]))["figures"]}
tcp = ["tcp_up_1", "tcp_down_1", "tcp_up_4", "tcp_down_4", "rr_rate", "crr_rate"]
want = {  # figure: stacks that must have it, and whether it must be > 0
    **{f: (("sandnet", "veth", "relay"), True) for f in tcp},
    "rr_p50_us": (("sandnet", "veth", "relay"), True),
    "cpu_up": (("sandnet", "relay"), False),
    "cpu_down": (("sandnet", "relay"), False),
    "udp_up": (("sandnet", "veth"), True),
    "udp_down": (("sandnet", "veth"), True),
    "rss_idle_kib": (("sandnet",), True),
    "rss_per_conn_kib": (("sandnet",), False),
    "rss_peak_kib": (("sandnet",), True),
    "wakeups_per_s": (("sandnet",), False),
}
bad = []
for f, (stacks, positive) in want.items():
    for s in stacks:
        v = figs.get(f, {}).get(s)
        if v is None or (positive and not v > 0):
            bad.append(f"{f} {s}: {v}")
    extra = [s for s, v in figs.get(f, {}).items() if v is not None and s not in stacks]
    if extra:
        bad.append(f"{f}: figures for {extra}, which have none")
if bad:
    sys.exit("bench_smoke: " + "; ".join(bad))
print(f"bench_smoke: {len(want)} figures present; sandnet tcp up {figs['tcp_up_1']['sandnet']} Mbit/s")
PY
