#!/usr/bin/env bash
# bench/run.sh - the whole comparison: sandnet against pasta, slirp4netns
# and the kernel's own veth pair, the same guest setup for each, several
# interleaved rounds; medians and same-run ratios as Markdown and JSON.
#
# Usage: bench/run.sh [--sandnet PATH] [--pasta PATH] [--slirp4netns PATH]
#                     [--snbench PATH] [--stacks "sandnet pasta slirp4netns veth relay"]
#                     [--rounds N] [--time SECONDS] [--mtus "1500 65520"]
#                     [--misc-mtu N] [--udp-rate RATE] [--conns N]
#                     [--idle SECONDS] [--ipv6 on|off] [--max-load L]
#                     [--quiet-wait SECONDS] [--out DIR]
#
# The guest is a network namespace made here with a TAP device (tap0) that
# the stack serves: `sandnet attach --configure`, `slirp4netns --configure`
# (both attached to the namespace), `pasta --config-net` (which makes the
# namespace itself), or, for the kernel's figure, one end of a veth pair
# whose other end is on the host side. The servers (iperf3 -s, snbench
# server) listen on the host side, which each stack's guest reaches as its
# gateway: 10.0.2.2 (sandnet, slirp4netns) and 192.0.2.254 (pasta) stand for
# the host's 127.0.0.1; the veth guest dials the pair's far end. "relay" is
# the veth pair with `snbench relay` in the path (the guest dials it at the
# far end; it splice()s each connection to the servers on 127.0.0.1): what
# one process in the path costs when it neither copies through user space
# nor runs TCP itself, a reference for user-mode stacks; TCP and
# request/response figures only (it carries no UDP), its CPU is the
# relay's. The host side is itself a private network namespace
# (bench/lib.sh): nothing leaves the machine. Peers are those on PATH
# unless --pasta/--slirp4netns name others (e.g. /opt/peers/bin, from
# shared/tools/build-modern-peers.sh); one that is missing is left out.
# --ipv6 off disables IPv6 in every guest namespace (pasta: -4), as peers'
# own harnesses often do.
#
# Each round (they alternate, and each starts with the next stack in turn)
# waits for a quiet machine (1-minute load below --max-load, default half
# the cores, at most --quiet-wait seconds, default 60) and records the load
# and the busiest processes. Then, for every MTU and stack, a fresh guest:
#   TCP up and down (guest -> host is up), 1 and 4 streams, iperf3 --time s
#   stack CPU per Gbit/s: utime + stime of the stack's process during the
#     single-stream runs, as % of one core per Gbit/s moved
# and at --misc-mtu (default 65520) also, in this order:
#   RSS idle (VmRSS once up), with --conns (1000) idle TCP connections
#     (snbench hold) and the growth per connection, peak (VmHWM at the end)
#   UDP up and down at --udp-rate (300M) offered, 1400-byte datagrams:
#     Mbit/s received and % lost
#   TCP request/response on one connection (snbench rr): transactions/s,
#     p50 and p99 latency in us
#   connection rate (snbench crr: connect, one byte each way, close)
# and once per stack, wake-ups per second of an idle sandbox over --idle
# seconds (10) after 3 s of settling: `sandnet run -- sleep`, `pasta
# --config-net -- sleep`, slirp4netns attached to a sleeping namespace;
# context switches of every thread of the stack's process.
#
# Needs root, iperf3, python3, unshare, nsenter, ip, top, and snbench
# (built with sandnet: build/snbench). Output: progress on stderr; the
# Markdown report on stdout and in DIR/results.md, everything in
# DIR/results.json, one line per measurement in DIR/raw.jsonl (DIR:
# --out, default a new /tmp/sn-bench.XXXXXX).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
args=("$@")

sandnet=${SANDNET:-$here/../build/sandnet}
snbench=$here/../build/snbench
pasta=$(command -v pasta || true)
slirp=$(command -v slirp4netns || true)
stacks="sandnet pasta slirp4netns veth relay"
rounds=3 secs=4 mtus="1500 65520" misc_mtu=65520 udp_rate=300M conns=1000 idle=10
ipv6=on max_load='' quiet_wait=60 out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--sandnet) sandnet=$2; shift 2 ;;
	--pasta) pasta=$2; shift 2 ;;
	--slirp4netns) slirp=$2; shift 2 ;;
	--snbench) snbench=$2; shift 2 ;;
	--stacks) stacks=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--time) secs=$2; shift 2 ;;
	--mtus) mtus=$2; shift 2 ;;
	--misc-mtu) misc_mtu=$2; shift 2 ;;
	--udp-rate) udp_rate=$2; shift 2 ;;
	--conns) conns=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--ipv6) ipv6=$2; shift 2 ;;
	--max-load) max_load=$2; shift 2 ;;
	--quiet-wait) quiet_wait=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, TAP devices)"
case $ipv6 in on|off) ;; *) die "--ipv6 takes on or off" ;; esac
for t in iperf3 python3 unshare nsenter ip top timeout; do
	command -v "$t" >/dev/null || die "$t not found"
done
sandnet=$(readlink -f "$sandnet")
snbench=$(readlink -f "$snbench")
[ -x "$sandnet" ] || die "$sandnet is not executable (build it, or --sandnet PATH)"
[ -x "$snbench" ] || die "$snbench is not executable (cmake --build build builds it)"
want=
for s in $stacks; do
	case $s in
	sandnet|veth|relay) want="$want $s" ;;
	pasta) if [ -n "$pasta" ] && [ -x "$pasta" ]; then want="$want $s"; else echo "run.sh: no pasta: left out" >&2; fi ;;
	slirp4netns) if [ -n "$slirp" ] && [ -x "$slirp" ]; then want="$want $s"; else echo "run.sh: no slirp4netns: left out" >&2; fi ;;
	*) die "unknown stack '$s'" ;;
	esac
done
stacks=${want# }
[ -n "$max_load" ] || max_load=$(awk -v n="$(nproc)" 'BEGIN { print n / 2 }')

bench_isolate "$0" "${args[@]}"
[ -n "$out" ] || out=$(mktemp -d /tmp/sn-bench.XXXXXX)
mkdir -p "$out"
out=$(readlink -f "$out")
raw=$out/raw.jsonl log=$out/log.txt
: >"$raw"
: >"$log"
work=$(mktemp -d /tmp/sn-bench-work.XXXXXX)
bench_pasta_route

S_PID='' H_PID='' G_NS='' G_SRV='' STACK='' R_PID=''
# the servers' ports as the guest dials them (the relay's differ)
P_TCP=5201 P_SNB=5202
srv_pids=()
cleanup() {
	stack_stop
	[ ${#srv_pids[@]} -eq 0 ] || kill "${srv_pids[@]}" 2>/dev/null || true
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
say() { echo "$*" >&2; echo "$*" >>"$log"; }

iperf3 -s -p 5201 >/dev/null 2>&1 &
srv_pids+=($!)
"$snbench" server 5202 2>>"$log" &
srv_pids+=($!)

# record ROUND FIGURE VALUE [MTU]: one measurement (VALUE "null" if it failed)
record() {
	printf '{"round": %s, "stack": "%s", "mtu": %s, "figure": "%s", "value": %s}\n' \
		"$1" "$STACK" "${4:-null}" "$2" "${3:-null}" >>"$raw"
}

guest() { nsenter --net="$G_NS" -- "$@"; }

# cpu_ticks: utime + stime of the stack's process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$S_PID/stat" 2>/dev/null || echo 0; }
# mem KEY: a VmRSS/VmHWM line of the stack's process, KiB
mem() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$S_PID/status" 2>/dev/null; }
# ctx PID: context switches of every thread of PID so far
ctx() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }

# holder: a guest network namespace of its own, held by a sleeping process
holder() {
	local me i
	me=$(readlink /proc/self/ns/net)
	unshare --net -- sleep 100000 &
	H_PID=$!
	for i in $(seq 100); do
		[ "$(readlink "/proc/$H_PID/ns/net" 2>/dev/null)" != "$me" ] && break
		sleep 0.02
	done
	G_NS=/proc/$H_PID/ns/net
	guest ip link set lo up
	[ "$ipv6" = on ] || guest sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
}

# stack_start STACK MTU: a fresh guest served by STACK; sets S_PID (the
# stack's process, none for veth), H_PID, G_NS, G_SRV and P_TCP, P_SNB (the
# servers' address and ports as the guest dials them). Return: 0 once the
# guest reaches the servers
stack_start() {
	local me i v4=()
	STACK=$1
	case $1 in
	sandnet)
		holder
		"$sandnet" attach --netns "$G_NS" --configure --offload --mtu "$2" --allow-host-loopback \
			--linger 0 2>>"$log" &
		S_PID=$! G_SRV=10.0.2.2 ;;
	slirp4netns)
		holder
		"$slirp" --configure --mtu="$2" --netns-type=path "$G_NS" tap0 >>"$log" 2>&1 &
		S_PID=$! G_SRV=10.0.2.2 ;;
	pasta)
		# as root pasta would switch to nobody and fail to map ids: stay root
		[ "$ipv6" = on ] || v4=(-4)
		"$pasta" -f --config-net --mtu "$2" -I tap0 --runas 0:0 "${v4[@]}" -- \
			sleep 100000 >>"$log" 2>&1 &
		S_PID=$! G_SRV=192.0.2.254
		me=$(readlink /proc/self/ns/net)
		for i in $(seq 100); do
			H_PID=$(pgrep -P "$S_PID" | head -1 || true)
			[ -n "$H_PID" ] && [ "$(readlink "/proc/$H_PID/ns/net" 2>/dev/null)" != "$me" ] && break
			H_PID=
			sleep 0.05
		done
		[ -n "$H_PID" ] || return 1
		G_NS=/proc/$H_PID/ns/net
		[ "$ipv6" = on ] || guest sysctl -qw net.ipv6.conf.all.disable_ipv6=1 ;;
	veth|relay)
		holder
		S_PID='' G_SRV=198.51.100.1
		ip link add snv0 type veth peer name snv1
		ip link set snv1 netns "$H_PID"
		ip addr add 198.51.100.1/24 dev snv0
		ip link set snv0 mtu "$2" up
		guest ip link set snv1 name tap0
		guest ip addr add 198.51.100.2/24 dev tap0
		guest ip link set tap0 mtu "$2" up
		if [ "$1" = relay ]; then
			"$snbench" relay "$G_SRV" 15201 127.0.0.1 5201 2>>"$log" &
			S_PID=$! P_TCP=15201
			"$snbench" relay "$G_SRV" 15202 127.0.0.1 5202 2>>"$log" &
			R_PID=$! P_SNB=15202
		fi ;;
	esac
	for i in $(seq 150); do
		guest "$snbench" crr "$G_SRV" "$P_SNB" 0 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# stack_stop: end the stack and the guest (pasta's guest process is the init
# of a PID namespace, which only SIGKILL ends)
stack_stop() {
	[ -z "$S_PID" ] || { kill "$S_PID" 2>/dev/null || true; wait "$S_PID" 2>/dev/null || true; }
	[ -z "$R_PID" ] || { kill "$R_PID" 2>/dev/null || true; wait "$R_PID" 2>/dev/null || true; }
	[ -z "$H_PID" ] || { kill -KILL "$H_PID" 2>/dev/null || true; wait "$H_PID" 2>/dev/null || true; }
	ip link del snv0 2>/dev/null || true
	S_PID='' R_PID='' H_PID='' G_NS='' P_TCP=5201 P_SNB=5202
}

# py_iperf JSONFILE EXPR: a value computed from iperf3's JSON `d` (Python)
py_iperf() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$1" "$2" 2>/dev/null || echo null
}

# tcp ROUND MTU DIR STREAMS
tcp() {
	local f=$work/tcp.json flags=(-t "$secs" -J) c0 c1 mbps cpu=null
	[ "$3" = down ] && flags+=(-R)
	[ "$4" -gt 1 ] && flags+=(-P "$4")
	c0=$(cpu_ticks)
	timeout $((secs + 30)) nsenter --net="$G_NS" -- iperf3 -c "$G_SRV" -p "$P_TCP" "${flags[@]}" \
		>"$f" 2>/dev/null || true
	c1=$(cpu_ticks)
	mbps=$(bench_mbps "$f")
	[ "$mbps" != 0 ] || mbps=null
	record "$1" "tcp_$3_$4" "$mbps" "$2"
	if [ -n "$S_PID" ] && [ "$4" = 1 ] && [ "$mbps" != null ]; then
		cpu=$(py_iperf "$f" "round(100 * ($c1 - $c0) / $(getconf CLK_TCK) / (d['end']['sum_received']['bytes'] * 8 / 1e9), 2)")
		record "$1" "cpu_$3" "$cpu" "$2"
	fi
	say "  $STACK mtu $2 tcp $3 x$4: $mbps Mbit/s${S_PID:+, cpu $cpu %/Gbit/s}"
}

# udp ROUND MTU DIR
udp() {
	local f=$work/udp.json flags=(-u -b "$udp_rate" -l 1400 -t "$secs" -J) mbps loss
	[ "$3" = down ] && flags+=(-R)
	timeout $((secs + 30)) nsenter --net="$G_NS" -- iperf3 -c "$G_SRV" -p "$P_TCP" "${flags[@]}" \
		>"$f" 2>/dev/null || true
	mbps=$(py_iperf "$f" "round(d['end']['sum_received']['bits_per_second'] / 1e6)")
	loss=$(py_iperf "$f" "round(d['end']['sum_received']['lost_percent'], 2)")
	record "$1" "udp_$3" "$mbps" "$2"
	record "$1" "udp_$3_loss" "$loss" "$2"
	say "  $STACK udp $3 at $udp_rate: $mbps Mbit/s, $loss % lost"
}

# snb ROUND MTU rr|crr: the request/response figures
snb() {
	local line
	line=$(timeout $((secs + 30)) nsenter --net="$G_NS" -- "$snbench" "$3" "$G_SRV" "$P_SNB" "$secs" \
		2>>"$log" || true)
	# "transactions N rate R p50_us A p99_us B" / "connections N rate R"
	# shellcheck disable=SC2086 # the words of the line
	set -- "$1" "$2" "$3" $line
	if [ "$3" = rr ]; then
		record "$1" rr_rate "${7:-null}" "$2"
		record "$1" rr_p50_us "${9:-null}" "$2"
		record "$1" rr_p99_us "${11:-null}" "$2"
		say "  $STACK rr: ${7:-failed} trans/s, p50 ${9:-?} us, p99 ${11:-?} us"
	else
		record "$1" crr_rate "${7:-null}" "$2"
		say "  $STACK crr: ${7:-failed} conn/s"
	fi
}

# hold ROUND MTU: RSS with $conns idle connections, and per connection
hold() {
	local before after fifo=$work/hold.in hpid i fd
	before=$(mem VmRSS)
	rm -f "$fifo" "$work/hold.out"
	mkfifo "$fifo"
	timeout 200 nsenter --net="$G_NS" -- "$snbench" hold "$G_SRV" "$P_SNB" "$conns" 120 \
		<"$fifo" >"$work/hold.out" 2>>"$log" &
	hpid=$!
	exec {fd}>"$fifo"
	for i in $(seq 600); do
		grep -q held "$work/hold.out" 2>/dev/null && break
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	after=null
	grep -q held "$work/hold.out" 2>/dev/null && after=$(mem VmRSS)
	exec {fd}>&-
	wait "$hpid" 2>/dev/null || true
	record "$1" rss_conns_kib "$after" "$2"
	if [ "$after" != null ]; then
		record "$1" rss_per_conn_kib "$(awk -v a="$after" -v b="$before" -v n="$conns" 'BEGIN { printf "%.2f", (a - b) / n }')" "$2"
	fi
	say "  $STACK rss with $conns connections: $after KiB (before: $before KiB)"
	sleep 1		# the connections close
}

# has_memory STACK: whether STACK is a network stack of its own, whose
# process's memory is one of its figures (veth has no process; the relay is
# a reference, not a stack)
has_memory() { [ "$1" != veth ] && [ "$1" != relay ]; }

# instance ROUND STACK MTU: a fresh guest and every figure for it
instance() {
	local dir n
	if ! stack_start "$2" "$3"; then
		say "  $2 mtu $3: the guest never reached the servers; no figures"
		stack_stop
		return
	fi
	if [ "$3" = "$misc_mtu" ] && has_memory "$2"; then
		sleep 1
		record "$1" rss_idle_kib "$(mem VmRSS)" "$3"
		hold "$1" "$3"
	fi
	for n in 1 4; do
		for dir in up down; do
			tcp "$1" "$3" "$dir" "$n"
		done
	done
	if [ "$3" = "$misc_mtu" ]; then
		if [ "$2" != relay ]; then	# it relays TCP only
			udp "$1" "$3" up
			udp "$1" "$3" down
		fi
		snb "$1" "$3" rr
		snb "$1" "$3" crr
		! has_memory "$2" || record "$1" rss_peak_kib "$(mem VmHWM)" "$3"
	fi
	stack_stop
}

# idle ROUND STACK: wake-ups per second of an idle sandbox
idle_wakeups() {
	local pid a b
	STACK=$2
	case $2 in
	sandnet) "$sandnet" run --linger 0 -- sleep $((idle + 5)) 2>>"$log" & pid=$! ;;
	pasta) "$pasta" -f --config-net --runas 0:0 -- sleep $((idle + 5)) >>"$log" 2>&1 & pid=$! ;;
	slirp4netns)
		holder
		"$slirp" --configure --netns-type=path "$G_NS" tap0 >>"$log" 2>&1 &
		pid=$! S_PID=$pid ;;
	*) return ;;
	esac
	sleep 3
	a=$(ctx "$pid")
	sleep "$idle"
	b=$(ctx "$pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	stack_stop
	record "$1" wakeups_per_s "$(awk -v a="$a" -v b="$b" -v s="$idle" 'BEGIN { printf "%.2f", (b - a) / s }')"
	say "  $2 idle: $((b - a)) wake-ups in $idle s"
}

# quiet ROUND: wait for a quiet machine (bounded); record what ran
quiet() {
	local waited=0 load top
	while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$max_load" 'BEGIN { exit !(l >= m) }' &&
	      [ "$waited" -lt "$quiet_wait" ]; do
		sleep 5
		waited=$((waited + 5))
	done
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	# the busiest processes over the last second (top's second sample)
	top=$(top -b -n 2 -d 1 -w 160 | awk '/^top -/ { n++ } n == 2 && /^ *[0-9]+ / { print $9 "% " $12 }' |
	      head -5 | paste -sd, -)
	printf '{"round": %s, "meta": {"load": "%s", "waited_s": %s, "top": "%s"}}\n' \
		"$1" "$load" "$waited" "$top" >>"$raw"
	say "round $1: load $load after waiting ${waited} s; busiest: $top"
}

{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
	echo "sandnet: $sandnet ($("$sandnet" --version | head -1))"
	[ -z "$pasta" ] || echo "pasta: $pasta ($("$pasta" --version | head -1))"
	[ -z "$slirp" ] || echo "slirp4netns: $slirp ($("$slirp" --version | sed -n '1p;/^libslirp/p' | paste -sd, -))"
	echo "iperf3: $(iperf3 --version | head -1)"
	echo "settings: $rounds rounds, ${secs} s per run, MTUs $mtus (the rest at $misc_mtu), UDP $udp_rate offered in 1400-byte datagrams, $conns idle connections, idle ${idle} s, guest IPv6 $ipv6"
	echo "stacks: $stacks"
} >"$out/meta.txt"
cat "$out/meta.txt" >&2

# shellcheck disable=SC2086 # a list of words
set -- $stacks
n=$#
for r in $(seq "$rounds"); do
	quiet "$r"
	# each round starts with the next stack
	order=()
	for i in $(seq 0 $((n - 1))); do
		j=$(( (i + r - 1) % n + 1 ))
		order+=("${!j}")
	done
	for mtu in $mtus; do
		for s in "${order[@]}"; do
			instance "$r" "$s" "$mtu"
		done
	done
	for s in "${order[@]}"; do
		idle_wakeups "$r" "$s"
	done
done

python3 "$here/report.py" "$out" | tee "$out/results.md"
say "results: $out/results.md, $out/results.json, $out/raw.jsonl"
