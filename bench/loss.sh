#!/usr/bin/env bash
# bench/loss.sh - bulk TCP over a lossy guest link: sandnet, slirp4netns and
# the kernel's own TCP over a veth pair, in the same run.
#
# Usage: bench/loss.sh [--sandnet PATH] [--baseline PATH] [--slirp4netns PATH]
#                      [--rounds N] [--mb N] [--loss PCT] [--families "4 6"]
#                      [--limit SECONDS]
#
# Each guest drops PCT % (default 1) of the packets on its tap0 in each
# direction (nftables, numgen random, input and output chains) and sends
# MTU-sized packets (gso_max_segs 1: without it the output chain would see,
# and drop, whole 64 KiB GSO bursts), MTU 1500. It downloads N MB (default
# 50) and uploads as much, checked by sha256 (bench/lossxfer.py). Stacks:
#   sandnet      `sandnet run --allow-host-loopback`, server on the host's
#                127.0.0.1 / ::1 reached as 10.0.2.2 / fd00:2::2
#   baseline     the same with another sandnet binary (--baseline), e.g. a
#                build from before a change
#   slirp4netns  --configure --mtu 1500 (--enable-ipv6 for IPv6), the same
#                server via 10.0.2.2 / fd00::2; the one on PATH unless
#                --slirp4netns
#   kernel       a veth pair; the guest reaches the server at 192.0.2.1 /
#                2001:db8::1 (the far end, in the bench's namespace)
# Everything runs in a private network namespace holding only loopback and
# the namespaces made here; nothing leaves the machine. Needs root, nft,
# python3, unshare, nsenter. A transfer still running after --limit seconds
# (default 120) counts as taking the limit.
# Output: one line per transfer on stderr, then a Markdown table of medians
# over --rounds (default 3) and the ratios, on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
sandnet=${SANDNET:-$here/../build/sandnet}
baseline=
slirp=$(command -v slirp4netns || true)
rounds=3 mb=50 loss=1 families="4 6" limit=120
while [ $# -gt 0 ]; do
	case "$1" in
	--sandnet) sandnet=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--slirp4netns) slirp=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--mb) mb=$2; shift 2 ;;
	--loss) loss=$2; shift 2 ;;
	--families) families=$2; shift 2 ;;
	--limit) limit=$2; shift 2 ;;
	-h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "loss.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
for t in nft python3 unshare nsenter ip; do
	command -v "$t" >/dev/null || { echo "loss.sh: $t not found" >&2; exit 1; }
done
sandnet=$(readlink -f "$sandnet")
[ -x "$sandnet" ] || { echo "loss.sh: $sandnet is not executable" >&2; exit 1; }
[ -z "$baseline" ] || baseline=$(readlink -f "$baseline")
[ -z "$slirp" ] || slirp=$(readlink -f "$slirp")
[ "$(id -u)" = 0 ] || { echo "loss.sh: needs root (namespaces, nftables)" >&2; exit 1; }

bench_isolate "$0" --sandnet "$sandnet" --baseline "$baseline" --slirp4netns "$slirp" \
	--rounds "$rounds" --mb "$mb" --loss "$loss" --families "$families" --limit "$limit"
work=$(mktemp -d /tmp/sn-loss.XXXXXX)
chmod 755 "$work"
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
head -c $((mb * 1024 * 1024)) /dev/urandom >"$work/data"
chmod 644 "$work/data"
cp "$here/lossxfer.py" "$work/"
cat >"$work/rules.nft" <<EOF
table inet snloss {
	chain in { type filter hook input priority 0; meta iifname "tap0" numgen random mod 100 < $loss drop; }
	chain out { type filter hook output priority 0; meta oifname "tap0" numgen random mod 100 < $loss drop; }
}
EOF
PORT=5311

# veth_up: the kernel's pair, its far end here (servers listen on it), the
# other end (snl1) to be moved into a guest; waits out the last pair, which
# goes away with its guest's namespace
veth_up() {
	local i
	for i in $(seq 100); do
		ip link show snl0 >/dev/null 2>&1 || break
		sleep 0.05
	done
	ip link add snl0 type veth peer name snl1
	ip addr add 192.0.2.1/24 dev snl0
	ip addr add 2001:db8::1/64 dev snl0 nodad
	ip link set snl0 up gso_max_segs 1
}
veth_up

python3 "$work/lossxfer.py" serve --addr 127.0.0.1 --addr ::1 --addr 192.0.2.1 \
	--addr 2001:db8::1 --port $PORT --file "$work/data" --ready "$work/ready" &
srv_pid=$!
for _ in $(seq 50); do [ -e "$work/ready" ] && break; sleep 0.1; done
[ -e "$work/ready" ] || { echo "loss.sh: server did not start" >&2; exit 1; }

# guest_cmd DIR ADDR: what a guest runs once its tap0 exists
guest_cmd() {
	echo "nft -f $work/rules.nft && ip link set tap0 gso_max_segs 1 &&" \
		"python3 $work/lossxfer.py $1 --addr $2 --port $PORT --file $work/data --timeout $limit"
}

# run_sandnet BIN DIR FAMILY
run_sandnet() {
	local gw=10.0.2.2
	[ "$3" = 6 ] && gw=fd00:2::2
	timeout $((limit + 20)) "$1" run --mtu 1500 --allow-host-loopback -- \
		sh -c "$(guest_cmd "$2" "$gw")" 2>/dev/null || true
}

# run_slirp DIR FAMILY: the guest waits for its address (IPv6: SLAAC from
# slirp4netns's router advertisements, past duplicate address detection)
run_slirp() {
	local out="$work/slirp.out" pid spid gw=10.0.2.2 v6=()
	local ready="ip -4 addr show tap0 | grep -q 10.0.2.100"
	if [ "$2" = 6 ]; then
		gw=fd00::2 v6=(--enable-ipv6)
		ready="ip -6 addr show tap0 | grep 'fd00:.*global' | grep -qv tentative"
	fi
	timeout $((limit + 20)) unshare --user --map-root-user --net -- sh -c \
		"i=0; while ! { $ready; } 2>/dev/null && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done; $(guest_cmd "$1" "$gw")" \
		>"$out" 2>/dev/null &
	pid=$!
	"$slirp" --configure "${v6[@]}" --mtu=1500 "$(bench_child "$pid")" tap0 >/dev/null 2>&1 &
	spid=$!
	wait "$pid" || true
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null || true
	cat "$out"
}

# run_kernel DIR FAMILY
run_kernel() {
	local addr=192.0.2.1 pid out="$work/kernel.out"
	[ "$2" = 6 ] && addr=2001:db8::1
	timeout $((limit + 20)) unshare --net -- sh -c \
		"i=0; while ! ip link show tap0 2>/dev/null | grep -q LOWER_UP && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i+1)); done; $(guest_cmd "$1" "$addr")" \
		>"$out" 2>/dev/null &
	pid=$!
	ip link set snl1 netns "$(bench_child "$pid")"
	nsenter -t "$(bench_child "$pid")" -n sh -c 'ip link set lo up && ip link set snl1 name tap0 &&
		ip addr add 192.0.2.2/24 dev tap0 && ip addr add 2001:db8::2/64 dev tap0 nodad &&
		ip link set tap0 up'
	wait "$pid" || true
	veth_up
	cat "$out"
}

stacks="sandnet"
[ -n "$baseline" ] && stacks="$stacks baseline"
[ -n "$slirp" ] && stacks="$stacks slirp4netns"
stacks="$stacks kernel"
res="$work/results"
: >"$res"
echo "# loss.sh: $mb MB, ${loss}% loss each way, MTU 1500, $rounds rounds; sandnet $sandnet${baseline:+, baseline $baseline}${slirp:+, slirp4netns $slirp ($("$slirp" --version | head -1))}; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
	for fam in $families; do
		for stack in $stacks; do
			for dir in down up; do
				case $stack in
				sandnet) line=$(run_sandnet "$sandnet" "$dir" "$fam") ;;
				baseline) line=$(run_sandnet "$baseline" "$dir" "$fam") ;;
				slirp4netns) line=$(run_slirp "$dir" "$fam") ;;
				kernel) line=$(run_kernel "$dir" "$fam") ;;
				esac
				# "<seconds> <bytes> ok|..." from lossxfer.py; anything else failed
				set -- $line
				secs=${1:-$limit}
				[ "${3:-}" = ok ] || secs=$limit
				echo "round $r: $stack IPv$fam $dir: ${line:-no result}" >&2
				echo "$stack $fam $dir $secs ${3:-fail}" >>"$res"
			done
		done
	done
done

python3 - "$res" "$mb" "$limit" "$stacks" <<'EOF'
import statistics, sys
path, mb, limit, stacks = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split()
runs = {}
for line in open(path):
    stack, fam, d, secs, verdict = line.split()
    runs.setdefault((stack, fam, d), []).append((float(secs), verdict))

def med(k):
    v = runs.get(k)
    return statistics.median(s for s, _ in v) if v else None

def cell(k):
    m = med(k)
    if m is None:
        return "-"
    bad = sum(1 for _, verdict in runs[k] if verdict != "ok")
    s = f"{m:.2f} s ({mb * 8.388608 / m:.0f} Mbit/s)"
    return s + (f", {bad} of {len(runs[k])} failed or past {limit:.0f} s" if bad else "")

fams = sorted({f for _, f, _ in runs})
print(f"| stack | family | down {mb:.0f} MB | up {mb:.0f} MB |")
print("|---|---|---|---|")
for st in stacks:
    for f in fams:
        if (st, f, "down") in runs:
            print(f"| {st} | IPv{f} | {cell((st, f, 'down'))} | {cell((st, f, 'up'))} |")
print()
print("| ratio (time) | family | down | up |")
print("|---|---|---|---|")
def ratio(a, b, f, d):
    x, y = med((a, f, d)), med((b, f, d))
    return f"{x / y:.2f}" if x and y else "-"
for a, b, what in (("slirp4netns", "sandnet", "slirp4netns / sandnet"),
                   ("baseline", "sandnet", "baseline / sandnet"),
                   ("sandnet", "kernel", "sandnet / kernel")):
    if a not in stacks or b not in stacks:
        continue
    for f in fams:
        if (a, f, "down") in runs and (b, f, "down") in runs:
            print(f"| {what} | IPv{f} | {ratio(a, b, f, 'down')} | {ratio(a, b, f, 'up')} |")
EOF
