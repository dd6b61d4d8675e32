#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The installed package, as embedders use it (ctest: install_embed).
#
# Usage: tests/install/run.sh --build BUILD_DIR --lwip LWIP_DIR --work DIR [--cmake CMAKE]
#
#  1. `cmake --install BUILD_DIR` into DIR/prefix.
#  2. The library: soname libsandnet.so.0 with its links; the functions
#     the installed headers (sandnet.h, frontend.h) declare each have a
#     kernel-doc comment in their header, and are exactly what
#     libsandnet.so exports (dynamic symbols) and what libsandnet.a
#     defines globally (no lwIP symbol, no internal one).
#  3. docs/embedding.md: its C blocks are cut out as pairnet.c and its CMake
#     block as CMakeLists.txt, built with find_package(sandnet) against the
#     shared and the static library (sandnet::sandnet_static, as the page
#     says), and with the page's own pkg-config command lines; each pairnet
#     runs the firmware of examples/lwip-unix as its guest (--link-fd 3).
#  4. examples/lwip-unix built with find_package and with pkg-config, each
#     as `firmware` (shared) and `firmware-static`, and run: the firmware's
#     own lwIP and the engine in one process.
#
# Every run is checked on the bytes: the page the guest fetched from
# hostsrv.py's HTTP server on 127.0.0.1 (through the gateway, allowed by
# policy) equals the file served, the name resolved through the gateway's
# DNS forwarder to hostsrv.py's resolver is the address it answers, the
# UDP datagram came back unchanged. Only 127.0.0.1 is used.
set -euo pipefail
export LC_ALL=C

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD= LWIP= WORK= CMAKE=cmake
while (($#)); do
	case $1 in
	--build) BUILD=$(cd "$2" && pwd); shift 2 ;;
	--lwip) LWIP=$(cd "$2" && pwd); shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--cmake) CMAKE=$2; shift 2 ;;
	*) echo "usage: $0 --build BUILD_DIR --lwip LWIP_DIR --work DIR [--cmake CMAKE]" >&2; exit 2 ;;
	esac
done
[[ -n $BUILD && -n $LWIP && -n $WORK ]] || { echo "$0: --build, --lwip and --work are required" >&2; exit 2; }
for tool in cc nm readelf pkg-config python3 cmp timeout; do
	command -v "$tool" >/dev/null || { echo "install: $tool is missing" >&2; exit 1; }
done

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PREFIX=$WORK/prefix
LIB=$PREFIX/lib
export PKG_CONFIG_PATH=$LIB/pkgconfig
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

pass() {
	echo "PASS $*"
}

sanitized=0
grep -q '^SANDNET_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && sanitized=1

# ---- 1. install ----
"$CMAKE" --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log"
# (the program and its man page, when scdoc built it, besides)
[[ $(cd "$PREFIX" && find . -path ./bin -prune -o -path ./share/man -prune -o -type f -print |
     sort | tr '\n' ' ') == \
   "./include/sandnet/frontend.h ./include/sandnet/sandnet.h ./lib/cmake/sandnet/sandnetConfig.cmake ./lib/cmake/sandnet/sandnetConfigVersion.cmake "*"./lib/cmake/sandnet/sandnetTargets.cmake ./lib/libsandnet.a ./lib/libsandnet.so.0.1.0 ./lib/pkgconfig/sandnet-static.pc ./lib/pkgconfig/sandnet.pc " ]] &&
	pass "install: headers, shared and static library, CMake package, pkg-config files" ||
	fail "install: unexpected files: $(cd "$PREFIX" && find . -type f | sort | tr '\n' ' ')"

# ---- 2. the library's ABI ----
soname=$(readelf -d "$LIB/libsandnet.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [[ $soname == libsandnet.so.0 && $(readlink "$LIB/libsandnet.so.0") == libsandnet.so.0.1.0 &&
      $(readlink "$LIB/libsandnet.so") == libsandnet.so.0 ]]; then
	pass "soname libsandnet.so.0 -> libsandnet.so.0.1.0, libsandnet.so -> libsandnet.so.0"
else
	fail "soname '$soname', links $(readlink "$LIB/libsandnet.so.0") $(readlink "$LIB/libsandnet.so")"
fi

# Function declarations: "type name(" at the start of a line, not typedefs;
# each documented in the header that declares it.
api= undocumented=
for header in "$PREFIX"/include/sandnet/*.h; do
	h_api=$(grep -E '^[a-z][a-z0-9_ ]*[ *]sn_[a-z0-9_]+\(' "$header" | grep -v '^typedef' |
		sed -E 's/^[^(]*[ *](sn_[a-z0-9_]+)\(.*/\1/')
	for f in $h_api; do
		grep -qE "^ \* $f\(\) - " "$header" || undocumented+=" $f (${header##*/})"
	done
	api+=$h_api$'\n'
done
api=$(grep . <<<"$api" | sort)
n_api=$(wc -w <<<"$api")
[[ -z $undocumented ]] && pass "installed headers ($(cd "$PREFIX/include/sandnet" && echo *.h)): all $n_api functions have a kernel-doc comment" ||
	fail "installed headers: no kernel-doc comment for:$undocumented"

dynamic=$(nm -D --defined-only "$LIB/libsandnet.so.0.1.0" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort)
versions=$(nm -D --defined-only "$LIB/libsandnet.so.0.1.0" | awk '$2 ~ /[TDBR]/ { sub(/^[^@]*@@?/, "", $3); print $3 }' | sort -u)
if [[ $dynamic == "$api" && $versions == SANDNET_0 ]]; then
	pass "libsandnet.so exports exactly the headers' $n_api functions, version SANDNET_0"
else
	fail "libsandnet.so exports, beyond the headers: $(comm -13 <(echo "$api") <(echo "$dynamic") | tr '\n' ' ')missing: $(comm -23 <(echo "$api") <(echo "$dynamic") | tr '\n' ' ')versions: $versions"
fi
static=$(nm -g --defined-only "$LIB/libsandnet.a" | awk 'NF == 3 { print $3 }' | sort)
if [[ $static == "$api" ]] && nm "$LIB/libsandnet.a" | grep -w tcp_input >/dev/null; then
	pass "libsandnet.a defines exactly the headers' $n_api functions globally (lwIP's tcp_input is there, local)"
else
	fail "libsandnet.a global symbols beyond the headers: $(comm -13 <(echo "$api") <(echo "$static") | head -20 | tr '\n' ' ')"
fi

# ---- the host side, and the check of what a guest received ----
NAME=fw-check.example
ADDR=192.0.2.80
PAYLOAD="sandnet embedding check $$ $RANDOM"
mkdir -p "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/page.bin"
# hostsrv.py serves until its stdin closes: a pipe from a sleeping subshell
# that the trap ends (and a 600 s bound of its own).
exec {srv_in}> >(exec python3 "$SRC/tests/install/hostsrv.py" --root "$WORK/www" --name "$NAME" \
	--addr "$ADDR" --ready "$WORK/ports" >"$WORK/hostsrv.log" 2>&1)
trap 'exec {srv_in}>&-' EXIT
for _ in $(seq 100); do
	[[ -s $WORK/ports ]] && break
	sleep 0.1
done
[[ -s $WORK/ports ]] || { echo "install: hostsrv.py did not start: $(cat "$WORK/hostsrv.log")"; exit 1; }
read -r http_kv udp_kv dns_kv <"$WORK/ports"
HTTP=${http_kv#http=} UDP=${udp_kv#udp=} DNS=${dns_kv#dns=}
FW_ARGS=(--http "$HTTP" --path /page.bin --name "$NAME" --udp "$UDP" --payload "$PAYLOAD")

# check_run NAME OUT LOG RC: the guest's received bytes in OUT
check_run() {
	local name=$1 out=$2 log=$3 rc=$4 why=
	((rc == 0)) || why+="exit status $rc; "
	cmp -s "$WORK/www/page.bin" "$out/page" || why+="page differs from the file served; "
	[[ $(cat "$out/name" 2>/dev/null) == "$ADDR" ]] || why+="$NAME resolved to '$(cat "$out/name" 2>/dev/null)'; "
	[[ $(cat "$out/udp" 2>/dev/null) == "$PAYLOAD" ]] || why+="UDP came back as '$(cat "$out/udp" 2>/dev/null)'; "
	if [[ -z $why ]]; then
		pass "$name: page (300000 bytes), name and datagram received intact"
	else
		fail "$name: $why"
		sed 's/^/    /' "$log"
	fi
}

# ---- 4. the firmware example (built first: pairnet's guest) ----
for via in cmake pkg-config; do
	b=$WORK/fw-$via
	if ! "$CMAKE" -S "$SRC/examples/lwip-unix" -B "$b" -DLWIP_DIR="$LWIP" -DSANDNET_VIA=$via \
		-DCMAKE_PREFIX_PATH="$PREFIX" >"$b.log" 2>&1 || ! "$CMAKE" --build "$b" -j2 >>"$b.log" 2>&1; then
		fail "examples/lwip-unix ($via): build failed"
		sed 's/^/    /' "$b.log" | tail -30
		continue
	fi
	for exe in firmware firmware-static; do
		out=$WORK/out-$via-$exe
		mkdir -p "$out"
		rc=0
		timeout 60 "$b/$exe" --dns-upstream "127.0.0.1:$DNS" "${FW_ARGS[@]}" --out "$out" \
			>"$out.log" 2>&1 || rc=$?
		check_run "examples/lwip-unix ($via) $exe, engine in the firmware's process" \
			"$out" "$out.log" $rc
	done
done
if [[ $(ldd "$WORK/fw-cmake/firmware" 2>/dev/null) != *"$LIB/libsandnet.so.0"* ]] ||
   ldd "$WORK/fw-cmake/firmware-static" | grep libsandnet >/dev/null; then
	fail "examples/lwip-unix: firmware does not load $LIB/libsandnet.so.0, or firmware-static does"
fi
GUEST=$WORK/fw-cmake/firmware

# ---- 3. docs/embedding.md's program ----
doc=$WORK/doc
mkdir -p "$doc"
awk '/^```c$/ { on = 1; next } /^```$/ { on = 0 } on' "$SRC/docs/embedding.md" >"$doc/pairnet.c"
awk '/^```cmake$/ { on = 1; next } /^```$/ { on = 0 } on' "$SRC/docs/embedding.md" >"$doc/CMakeLists.txt"
mapfile -t pc_lines < <(awk '/^```sh$/ { n++; on = (n == 1); next } /^```$/ { on = 0 } on' \
	"$SRC/docs/embedding.md")
grep -q 'sandnet::sandnet)' "$doc/CMakeLists.txt" && ((${#pc_lines[@]} == 3)) ||
	fail "docs/embedding.md: expected a CMake block linking sandnet::sandnet and three pkg-config lines"

# run_pairnet NAME EXE: the firmware as pairnet's guest
run_pairnet() {
	local out=$WORK/out-${1//[^a-z0-9]/-} rc=0
	mkdir -p "$out"
	timeout 60 "$2" -d "127.0.0.1:$DNS" -a "tcp:group:host:$HTTP" -a "udp:group:host:$UDP" -- \
		"$GUEST" --link-fd 3 "${FW_ARGS[@]}" --out "$out" >"$out.log" 2>&1 || rc=$?
	check_run "docs/embedding.md pairnet ($1), the firmware as its guest over a socket pair" \
		"$out" "$out.log" $rc
}

for kind in sandnet sandnet_static; do
	b=$doc/cmake-$kind
	mkdir -p "$b"
	sed "s/sandnet::sandnet)/sandnet::$kind)/" "$doc/CMakeLists.txt" >"$b/CMakeLists.txt"
	cp "$doc/pairnet.c" "$b/"
	if "$CMAKE" -S "$b" -B "$b/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
		-DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$b.log" 2>&1 &&
	   "$CMAKE" --build "$b/build" >>"$b.log" 2>&1; then
		run_pairnet "find_package, sandnet::$kind" "$b/build/pairnet"
	else
		fail "docs/embedding.md (find_package, sandnet::$kind): build failed"
		sed 's/^/    /' "$b.log" | tail -30
	fi
done

for line in "${pc_lines[@]}"; do
	what=${line##*# }
	cmd=${line%%#*}
	if [[ $cmd == *" -static "* ]] && ((sanitized)); then
		echo "SKIP docs/embedding.md (pkg-config, $what): the sanitizers need dynamic linking"
		continue
	fi
	b=$doc/pc-${what// /-}
	mkdir -p "$b"
	cp "$doc/pairnet.c" "$b/"
	# the page's command line, as written (CFLAGS: ours, for warnings)
	if (cd "$b" && eval "${cmd/cc /cc -Wall -Wextra -Werror }") >"$b.log" 2>&1; then
		if [[ $what == shared ]]; then
			LD_LIBRARY_PATH=$LIB run_pairnet "pkg-config, $what" "$b/pairnet"
			[[ $(LD_LIBRARY_PATH=$LIB ldd "$b/pairnet") == *"$LIB/libsandnet.so.0"* ]] ||
				fail "docs/embedding.md (pkg-config, shared) does not load $LIB/libsandnet.so.0"
		else
			run_pairnet "pkg-config, $what" "$b/pairnet"
			ldd "$b/pairnet" 2>/dev/null | grep libsandnet >/dev/null &&
				fail "docs/embedding.md (pkg-config, $what) loads libsandnet.so"
		fi
	else
		fail "docs/embedding.md (pkg-config, $what): '$cmd' failed"
		sed 's/^/    /' "$b.log" | tail -30
	fi
done

if ((failures)); then
	echo "install: $failures check(s) failed (logs in $WORK)"
	exit 1
fi
echo "install: all checks passed"
