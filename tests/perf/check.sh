#!/usr/bin/env bash
# tests/perf/check.sh - the callgrind guard: instructions the engine executes
# per MiB moved through the TCP relay, each way, against the figures recorded
# in the repository.
#
# Usage: check.sh PERF_TCP BASELINE BUILD [--update]
#
# Runs PERF_TCP (tests/perf/perf_tcp.c: 4 MiB up, then 4 MiB down, MTU
# 1500, a frozen clock, no timing anywhere) under valgrind --tool=callgrind,
# collecting only inside the engine's API calls, and divides the count by
# the MiB moved. Fails when a direction costs more than 10 % over BASELINE
# (bench/callgrind-baseline.txt), says so when it costs 10 % less (time to
# record the gain). BUILD is the build's "type compiler version" (CMake
# passes it); a baseline taken with another build is not comparable: the
# test is skipped (exit 77). --update records the figures (and BUILD) in
# BASELINE instead of comparing:
#
#   cmake --build build && bash tests/perf/check.sh build/tests/perf/perf_tcp \
#       bench/callgrind-baseline.txt "$(sed -n 's/^build //p' bench/callgrind-baseline.txt)" --update
#
# (or through ctest: SN_PERF_UPDATE=1 ctest --test-dir build -L perf).
set -euo pipefail

bin=$1 base=$2 build=$3
update=${4:-}
[ -n "${SN_PERF_UPDATE:-}" ] && update=--update
mib=4

# count DIR: instructions collected inside the engine for one direction
count() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--toggle-collect=sn_engine_input --toggle-collect=sn_engine_dispatch \
		--toggle-collect=sn_engine_pollfds --toggle-collect=sn_engine_timeout_ms \
		"$bin" "$1" 2>"$out.err" >"$out.txt" || {
		echo "check.sh: perf_tcp $1 failed:" >&2
		cat "$out.txt" "$out.err" >&2
		exit 1
	}
	sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$out.err"
}

out=$(mktemp /tmp/sn-perf.XXXXXX)
trap 'rm -f "$out" "$out.err" "$out.txt"' EXIT
up=$(( $(count up) / mib ))
down=$(( $(count down) / mib ))
echo "instructions per MiB: up $up, down $down (build: $build)"

if [ "$update" = --update ]; then
	{
		echo "# Instructions sandnet's engine executes per MiB through the TCP relay"
		echo "# (tests/perf/check.sh, the ctest perf_callgrind), and the build they"
		echo "# were counted with. Update with check.sh --update after a change that"
		echo "# is meant to cost more (or saves: keep the guard tight)."
		echo "build $build"
		echo "up $up"
		echo "down $down"
	} >"$base"
	echo "recorded in $base"
	exit 0
fi

want=$(sed -n 's/^build //p' "$base")
if [ "$want" != "$build" ]; then
	echo "check.sh: the baseline was counted with '$want', this is '$build': not comparable, skipped"
	exit 77
fi
fail=0
for dir in up down; do
	now=$up
	[ "$dir" = down ] && now=$down
	ref=$(sed -n "s/^$dir //p" "$base")
	pct=$(( (now - ref) * 100 / ref ))
	if [ $(( now * 10 )) -gt $(( ref * 11 )) ]; then
		echo "FAIL $dir: $now instructions per MiB, $pct % over the baseline $ref (limit +10 %)"
		fail=1
	elif [ $(( now * 10 )) -lt $(( ref * 9 )) ]; then
		echo "ok $dir: $now per MiB, $pct % under the baseline $ref: record it (--update)"
	else
		echo "ok $dir: $now per MiB, $pct % against the baseline $ref"
	fi
done
exit "$fail"
