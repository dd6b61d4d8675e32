#!/usr/bin/env bash
# VM download throughput through `sandnet serve --socket` beside `passt
# --socket`, same run, medians (the VM test's --bench; needs root):
#   bash bench/vm.sh [--sandnet PATH] [--passt PATH] [--rounds N]
# Defaults: build/sandnet, /opt/peers/bin/passt or Debian's passt, 3 rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
sandnet=build/sandnet
args=()
while (($#)); do
	case $1 in
	--sandnet) sandnet=$2; shift 2 ;;
	--passt | --rounds) args+=("$1" "$2"); shift 2 ;;
	*) echo "usage: $0 [--sandnet PATH] [--passt PATH] [--rounds N]" >&2; exit 2 ;;
	esac
done
exec bash tests/vm/run.sh --sandnet "$sandnet" --cache "$(dirname "$sandnet")/vm-cache" --bench ${args[@]+"${args[@]}"}
