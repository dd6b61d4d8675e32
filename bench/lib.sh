# shellcheck shell=bash
# bench/lib.sh - what the bench/ scripts share; sourced, not run.
#
# bench_isolate SCRIPT ARGS...  re-run SCRIPT inside a private network
#                               namespace holding only loopback (up), unless
#                               already there: nothing a bench sends can
#                               leave the machine
# bench_pasta_route             give that namespace the routable interface
#                               pasta copies into its guest: a veth pair
#                               whose far end leads nowhere, on a
#                               documentation prefix (192.0.2.1/24, default
#                               via 192.0.2.254); pasta's guest then reaches
#                               the host's loopback as 192.0.2.254
# bench_mbps JSONFILE           received throughput of an iperf3 -J run,
#                               Mbit/s (0 when the run failed)
# bench_median N...             the median (upper for an even count)
# bench_child PID               the first child of PID, waited for up to 2.5 s
#                               (the process a wrapper such as timeout or
#                               unshare started); PID itself if none came

bench_isolate() {
	local script=$1
	shift
	if [ -z "${SN_BENCH_ISOLATED:-}" ]; then
		exec unshare --net -- env SN_BENCH_ISOLATED=1 bash "$script" "$@"
	fi
	ip link set lo up
}

bench_pasta_route() {
	ip link add snb0 type veth peer name snb1
	ip link set snb1 up
	ip addr add 192.0.2.1/24 dev snb0
	ip link set snb0 up
	ip route add default via 192.0.2.254
}

bench_mbps() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"]/1e6))' "$1" 2>/dev/null || echo 0
}

bench_median() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

bench_child() {
	local child=''
	for _ in $(seq 50); do
		child=$(pgrep -P "$1" | head -1)
		[ -n "$child" ] && break
		sleep 0.05
	done
	echo "${child:-$1}"
}
