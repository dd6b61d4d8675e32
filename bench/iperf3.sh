#!/usr/bin/env bash
# bench/iperf3.sh - TCP throughput guest<->host through sandnet, slirp4netns
# and pasta, in the same run, at MTU 1500 and 65520.
#
# Usage: bench/iperf3.sh [--sandnet PATH] [--time SECONDS] [--mtus "1500 65520"]
#
# The guest runs `iperf3 -c 10.0.2.2` (the gateway, which each stack maps to
# the host's loopback); the server listens on 127.0.0.1. The whole run
# happens inside a private network namespace holding only loopback, so no
# packet can leave the machine. Needs root (or an unprivileged user
# namespace) and iperf3, slirp4netns, pasta.
# Output: one line per (stack, mtu, direction) in Mbit/s, then ratios.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
sandnet=${SANDNET:-$here/../build/sandnet}
secs=5
mtus="1500 65520"
while [ $# -gt 0 ]; do
	case "$1" in
	--sandnet) sandnet=$2; shift 2 ;;
	--time) secs=$2; shift 2 ;;
	--mtus) mtus=$2; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "iperf3.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
sandnet=$(readlink -f "$sandnet")
for t in iperf3 slirp4netns pasta unshare python3; do
	command -v "$t" >/dev/null || { echo "iperf3.sh: $t not found" >&2; exit 1; }
done
[ -x "$sandnet" ] || { echo "iperf3.sh: $sandnet is not executable" >&2; exit 1; }

bench_isolate "$0" --sandnet "$sandnet" --time "$secs" --mtus "$mtus"
bench_pasta_route
work=$(mktemp -d)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 &
srv_pid=$!
sleep 0.5

# client command run in the guest; $1 = extra iperf3 flags, $2 = gateway
client() { echo "iperf3 -c ${2:-10.0.2.2} -p 5201 -t $secs -J $1"; }
limit=$((secs + 30))

run_sandnet() { # mtu flags out
	timeout "$limit" "$sandnet" run --mtu "$1" --allow-host-loopback -- sh -c "$(client "$2")" >"$3" 2>/dev/null || true
}
run_slirp() { # mtu flags out
	timeout "$limit" unshare --user --map-root-user --net --fork -- \
		sh -c "sleep 0.5; ip link set lo up; $(client "$2")" >"$3" 2>/dev/null &
	local pid=$!
	sleep 0.2
	local child
	child=$(pgrep -P "$pid" | head -1)
	slirp4netns --configure --mtu="$1" "${child:-$pid}" tap0 >/dev/null 2>&1 &
	local spid=$!
	wait "$pid" || true
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
}
run_pasta() { # mtu flags out
	# as root, pasta would switch to nobody and fail to map ids: stay root
	local runas=(); [ "$(id -u)" = 0 ] && runas=(--runas 0:0)
	timeout "$limit" pasta -f "${runas[@]}" --config-net --mtu "$1" -- \
		sh -c "$(client "$2" 192.0.2.254)" >"$3" 2>/dev/null || true
}

declare -A res
for mtu in $mtus; do
	for stack in sandnet slirp pasta; do
		for dir in up down; do
			flags=""; [ "$dir" = down ] && flags="-R"
			out="$work/$stack-$mtu-$dir.json"
			"run_$stack" "$mtu" "$flags" "$out"
			res[$stack-$mtu-$dir]=$(bench_mbps "$out")
			printf '%-8s mtu %-5s %-4s %6s Mbit/s\n' "$stack" "$mtu" "$dir" "${res[$stack-$mtu-$dir]}"
		done
	done
done
echo
for mtu in $mtus; do
	for dir in up down; do
		s=${res[sandnet-$mtu-$dir]}
		for peer in slirp pasta; do
			p=${res[$peer-$mtu-$dir]}
			python3 -c 'import sys; s,p=float(sys.argv[1]),float(sys.argv[2]); print("ratio sandnet/%s mtu %s %s: %s" % (sys.argv[3], sys.argv[4], sys.argv[5], ("%.2f" % (s/p)) if p else "n/a"))' "$s" "$p" "$peer" "$mtu" "$dir"
		done
	done
done
