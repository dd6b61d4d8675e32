#!/usr/bin/env bash
# bench/publish.sh - TCP throughput of a published port against a direct
# loopback connection, in the same run.
#
# Usage: bench/publish.sh [--sandnet PATH] [--time SECONDS] [--rounds N] [--mtu N]
#
# Direct: iperf3 -c 127.0.0.1 to an iperf3 server on the host's 127.0.0.1.
# Published: `sandnet run --publish 127.0.0.1:5202:5201 -- iperf3 -s`, and
# the same client to 127.0.0.1:5202: host -> 127.0.0.1:5202 -> sandnet ->
# the guest's server ("in"), and -R for the other direction ("out"). The
# two alternate, N rounds; medians and the ratio published/direct are
# printed. The whole run happens inside a private network namespace holding
# only loopback, so no packet can leave the machine. Needs root (or an
# unprivileged user namespace) and iperf3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
sandnet=${SANDNET:-$here/../build/sandnet}
secs=4
rounds=3
mtu=65520
while [ $# -gt 0 ]; do
	case "$1" in
	--sandnet) sandnet=$2; shift 2 ;;
	--time) secs=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--mtu) mtu=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "publish.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
sandnet=$(readlink -f "$sandnet")
for t in iperf3 unshare python3 timeout; do
	command -v "$t" >/dev/null || { echo "publish.sh: $t not found" >&2; exit 1; }
done
[ -x "$sandnet" ] || { echo "publish.sh: $sandnet is not executable" >&2; exit 1; }

bench_isolate "$0" --sandnet "$sandnet" --time "$secs" --rounds "$rounds" --mtu "$mtu"
work=$(mktemp -d)
srv_pid= sn_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	[ -n "$sn_pid" ] && kill "$sn_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# the direct server, and the guest's behind the published port
iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 &
srv_pid=$!
timeout $((rounds * secs * 4 + 60)) "$sandnet" run --mtu "$mtu" --publish 127.0.0.1:5202:5201 -- \
	sh -c 'iperf3 -s -p 5201 >/dev/null 2>&1 & sleep 0.5; touch "$1"; wait' sh "$work/ready" \
	>/dev/null 2>"$work/sandnet.err" &
sn_pid=$!
for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
[ -e "$work/ready" ] || { echo "publish.sh: the guest's server did not start: $(cat "$work/sandnet.err")" >&2; exit 1; }

declare -A res
for r in $(seq "$rounds"); do
	for dir in in out; do
		flags=""; [ "$dir" = out ] && flags="-R"
		for path in direct published; do
			port=5201; [ "$path" = published ] && port=5202
			out="$work/$path-$dir-$r.json"
			timeout $((secs + 30)) iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J $flags >"$out" 2>/dev/null || true
			res[$path-$dir]="${res[$path-$dir]:-} $(bench_mbps "$out")"
		done
	done
	printf 'round %s: in direct %s published %s, out direct %s published %s Mbit/s\n' "$r" \
		"$(bench_mbps "$work/direct-in-$r.json")" "$(bench_mbps "$work/published-in-$r.json")" \
		"$(bench_mbps "$work/direct-out-$r.json")" "$(bench_mbps "$work/published-out-$r.json")"
done
echo
for dir in in out; do
	# shellcheck disable=SC2086
	d=$(bench_median ${res[direct-$dir]}) p=$(bench_median ${res[published-$dir]})
	python3 -c 'import sys; d,p=float(sys.argv[1]),float(sys.argv[2]); print("%-3s (%s) median: direct %.0f, published %.0f Mbit/s, ratio published/direct %s" % (sys.argv[3], sys.argv[4], d, p, ("%.2f" % (p/d)) if d else "n/a"))' \
		"$d" "$p" "$dir" "$([ "$dir" = in ] && echo 'host -> guest' || echo 'guest -> host')"
done
