#!/usr/bin/env bash
# sandnet's slirp4netns-compatible mode and rootless attach, end to end:
# rootlesskit (Debian's) and unprivileged users, real clients.
#
#   bash tests/e2e/rootless.sh --build DIR [--only NAME[,NAME]...] [--keep]
#
# DIR is a sandnet build tree: it is installed (cmake --install) into the
# temporary directory, and the installed libexec/sandnet/slirp4netns
# symlink is what rootlesskit and the compat cases run.
#
# Needs root; the unprivileged parts run as nobody (65534) through setpriv,
# in a private mount namespace that has a 0666 tun node bind-mounted over
# /dev/net/tun and subordinate id files (nobody:100000:65536) over
# /etc/subuid and /etc/subgid: the machine's own files and its tun node's
# mode are never changed (an /etc/subuid that does not exist is created
# empty for the bind mount and removed again).
#
# Topology, documentation addresses only, nothing linked to the machine's
# own network namespace:
#
#   HOST 198.51.100.2 (.3 too), 2001:db8:1::2 (::3 too) --veth-- INET 198.51.100.1, 2001:db8:1::1
#   INET lo: 192.0.2.10 / 2001:db8:2::10 (servers.py inet: HTTP /big
#   /medium /who), 192.0.2.53 / 2001:db8:2::53 (dnsmasq: www.example.test
#   A 192.0.2.10, www6.example.test AAAA 2001:db8:2::10,
#   rebind.example.test A 10.0.0.1); HOST's resolv.conf names 192.0.2.53;
#   HOST 127.0.0.1:8080: the host-loopback service (servers.py hostlo).
#   GUEST: a namespace `ip netns add` made, for the compat-* cases.
#
# Cases:
#   compat-cli            --version's first line, --help naming every option
#                         rootlesskit looks for, unknown options and bad
#                         values exit 2 naming the option
#   compat-attach         sandnet slirp4netns -c -r 3 -e 4 --netns-type=path:
#                         "1" on the ready fd, tap0 10.0.2.100/24 via 10.0.2.2,
#                         MTU 1500, lo up, no IPv6 without -6; DNS through
#                         10.0.2.3 and 10.0.2.2, ping 10.0.2.3, a download;
#                         exit 0 at once when the exit fd hangs up
#   compat-api            -a PATH: slirp4netns's API on sandnet's control
#                         socket: get_info names 10.0.2.3 and 10.0.2.100,
#                         add_hostfwd carries a connection from HOST's
#                         127.0.0.1 to the guest, remove_hostfwd ends that
#   compat-ipv6           -6: the guest configures itself from router
#                         advertisements in fd00::/64; AAAA through fd00::3;
#                         a download over IPv6
#   compat-outbound       --outbound-addr 198.51.100.3, --outbound-addr6
#                         2001:db8:1::3: the server and the resolver see them;
#                         with --disable-dns, 10.0.2.3 does not answer (the
#                         gateway's forwarder does)
#   rootlesskit-sandnet   rootlesskit --net=slirp4netns --slirp4netns-binary=
#                         <the symlink> --disable-host-loopback --copy-up=/etc
#                         as nobody: sha256 of a 50 MB download, dig through
#                         10.0.2.3 (resolv.conf) and the gateway, host
#                         loopback refused, rebind protection on
#   rootlesskit-hostloop  the same without --disable-host-loopback: the
#                         gateway's port 8080 is HOST's 127.0.0.1:8080
#   rootlesskit-slirp4netns  the same as rootlesskit-sandnet with Debian's
#                         slirp4netns, for comparison (SKIP when it cannot run)
#   attach-userns         nobody makes a namespace pair (unshare -rn) and
#                         attaches with sandnet attach --userns --netns:
#                         sha256 of a 50 MB download, sandnet runs as nobody;
#                         without --userns one line naming it, exit 1
#
# Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per case,
# then "N passed, N failed, N skipped"; exits 0 only if none failed.

set -u
shopt -s nullglob

E2E_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$E2E_DIR/lib.sh"

usage() {
    echo "usage: $0 --build DIR [--only NAME[,NAME]...] [--keep]" >&2
    exit 2
}

BUILD='' ONLY='' KEEP=0
while (($#)); do
    case $1 in
    --build) (($# >= 2)) || usage; BUILD=$2; shift 2 ;;
    --only) (($# >= 2)) || usage; ONLY=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) usage ;;
    esac
done
[[ -n $BUILD ]] || usage

WEB=192.0.2.10 WEB6=2001:db8:2::10
DNS_UP=192.0.2.53 DNS_UP6=2001:db8:2::53
HOST_ADDR=198.51.100.2 HOST_ADDR_OUT=198.51.100.3 INET_ADDR=198.51.100.1
HOST_ADDR6=2001:db8:1::2 HOST_ADDR6_OUT=2001:db8:1::3 INET_ADDR6=2001:db8:1::1
HOSTLO_PORT=8080
NOBODY=65534
SUBID_START=100000 SUBID_COUNT=65536
BIG_SIZE=$((50 * 1024 * 1024))
MEDIUM_SIZE=$((4 * 1024 * 1024))

NS_HOST=sne2r-host-$$
NS_INET=sne2r-inet-$$
NS_GUEST=sne2r-guest-$$

export SNE2E_TAG="sne2r-$$-$RANDOM$RANDOM"

CASES=(compat-cli compat-attach compat-api compat-ipv6 compat-outbound
    rootlesskit-sandnet rootlesskit-hostloop rootlesskit-slirp4netns attach-userns)

# ---------------------------------------------------------------- reporting

PASSED=0 FAILED=0 SKIPPED=0 SUMMARY_DONE=0 CURRENT=''
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() {
    echo "FAIL $1: ${2//$'\n'/ | }"
    FAILED=$((FAILED + 1))
}
skip() { echo "SKIP $1: $2"; SKIPPED=$((SKIPPED + 1)); }
summary() {
    ((SUMMARY_DONE)) && return
    SUMMARY_DONE=1
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
}

SELECTED=()
if [[ -n $ONLY ]]; then
    IFS=, read -r -a ONLY_LIST <<<"$ONLY"
    for w in "${ONLY_LIST[@]}"; do
        found=0
        for c in "${CASES[@]}"; do [[ $c == "$w" ]] && found=1; done
        ((found)) || { echo "unknown case '$w'; cases: ${CASES[*]}" >&2; exit 2; }
    done
    for c in "${CASES[@]}"; do
        for w in "${ONLY_LIST[@]}"; do [[ $c == "$w" ]] && SELECTED+=("$c"); done
    done
else
    SELECTED=("${CASES[@]}")
fi

# ---------------------------------------------------------------- cleanup

T='' NETNS_MADE=() ETC_NETNS_MADE=() ETC_NETNS_ROOT=0 BG_PIDS=() CHILD='' COMPAT_PID=''
SUBID_MADE=()

cleanup() {
    trap - EXIT INT TERM HUP
    [[ -n $CHILD ]] && end_pids "$CHILD"
    [[ -n $COMPAT_PID ]] && end_pids "$COMPAT_PID"
    ((${#BG_PIDS[@]})) && end_pids "${BG_PIDS[@]}"
    tagged_pids
    ((${#TAGGED[@]})) && end_pids "${TAGGED[@]}"
    local ns f
    for ns in "${NETNS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    for ns in "${ETC_NETNS_MADE[@]}"; do rm -rf -- "/etc/netns/$ns"; done
    ((ETC_NETNS_ROOT)) && rmdir /etc/netns 2>/dev/null
    for f in "${SUBID_MADE[@]}"; do rm -f -- "$f"; done
    if [[ -n $T && -d $T ]]; then
        if ((KEEP)); then diag "kept $T"; else rm -rf -- "$T"; fi
    fi
    for ns in "${NETNS_MADE[@]}"; do
        ip netns list 2>/dev/null | grep -qw -- "$ns" && diag "LEAK: namespace $ns remains"
    done
    tagged_pids
    ((${#TAGGED[@]})) && diag "LEAK: processes remain: ${TAGGED[*]}"
    return 0
}
on_exit() {
    local rc=$?
    cleanup
    exit "$rc"
}
trap on_exit EXIT
trap 'fail "${CURRENT:-harness}" "interrupted"; summary; exit 130' INT TERM HUP

# ---------------------------------------------------------------- prerequisites

prereq_fail() {
    fail prerequisites "$1"
    summary
    exit 1
}

missing=()
for tool in ip curl dig ping python3 jq dnsmasq timeout sha256sum head cut sed grep awk mkfifo \
    mknod install mount unshare nsenter setpriv sysctl rootlesskit newuidmap newgidmap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || prereq_fail "missing tools: ${missing[*]} (need iproute2, curl, bind9-dnsutils, iputils-ping, python3, dnsmasq-base, coreutils, util-linux, procps, rootlesskit, uidmap)"
((EUID == 0)) || prereq_fail "must run as root (creates network namespaces)"
[[ -f $BUILD/CMakeCache.txt ]] || prereq_fail "$BUILD is not a CMake build tree"
CMAKE=${CMAKE:-cmake}
command -v "$CMAKE" >/dev/null 2>&1 || prereq_fail "cmake not found (set CMAKE)"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

# ---------------------------------------------------------------- helpers

# bounded SECONDS ARGV...: run ARGV with stdin closed, output in $G_OUT/$G_ERR.
G_N=0 G_RC=0 G_OUT='' G_ERR=''
bounded() {
    local tmo=$1
    shift
    G_N=$((G_N + 1))
    G_OUT=$T/$CURRENT.$G_N.out G_ERR=$T/$CURRENT.$G_N.err
    timeout -k 5 "$tmo" "$@" </dev/null >"$G_OUT" 2>"$G_ERR" &
    CHILD=$!
    wait "$CHILD"
    G_RC=$?
    CHILD=
    return $G_RC
}
why() { # the last bounded call: status, first line of output, last of errors
    local s="exit $G_RC" o e
    ((G_RC == 124 || G_RC == 137)) && s="timed out"
    o=$(head -n 1 -- "$G_OUT" 2>/dev/null | cut -c1-160)
    e=$(grep -v '^[[:space:]]*$' -- "$G_ERR" 2>/dev/null | tail -n 1 | cut -c1-200)
    [[ -n $o ]] && s+="; out: $o"
    [[ -n $e ]] && s+="; err: $e"
    printf '%s' "$s"
}
val() { # val KEY FILE: the value of a "KEY=value" line
    sed -n "s/^$1=//p" "$2" | head -n 1
}

SETUP_ERR=''
bg() { # bg NS LOG ARGV...: a server in namespace NS
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
    BG_PIDS+=($!)
}
dig_is() { # dig_is NS SERVER NAME TYPE WANT
    [[ $(ip netns exec "$1" dig @"$2" "$3" "$4" +short +time=1 +tries=1 2>/dev/null) == "$5" ]]
}

# as_nobody SECONDS ARGV...: ARGV as nobody in HOST, in a private mount
# namespace with the 0666 tun node and the subordinate id files
as_nobody() {
    local tmo=$1
    shift
    bounded "$tmo" ip netns exec "$NS_HOST" unshare -m -- sh -c '
        mount --bind "$1/tun" /dev/net/tun && mount --bind "$1/subuid" /etc/subuid &&
        mount --bind "$1/subgid" /etc/subgid && shift &&
        exec setpriv --reuid='"$NOBODY"' --regid='"$NOBODY"' --clear-groups \
            env HOME="$T_HOME" XDG_RUNTIME_DIR="$T_HOME/run" "$@"' sh "$T" "$@"
}

# ---------------------------------------------------------------- setup

setup() {
    T=$(mktemp -d "/tmp/sne2r-$$.XXXXXX") || { SETUP_ERR="mktemp failed"; return 1; }
    chmod 755 "$T"
    export T_HOME=$T/home
    mkdir -p "$T/www" "$T_HOME/run" && chown -R "$NOBODY:$NOBODY" "$T_HOME" && chmod 700 "$T_HOME/run"
    mkdir -m 1777 "$T/out"
    must "install" "$CMAKE" --install "$BUILD" --prefix "$T/inst" || return 1
    chmod -R go+rX "$T/inst"
    S4N=$T/inst/libexec/sandnet/slirp4netns
    SANDNET=$T/inst/bin/sandnet
    [[ -L $S4N && $(readlink "$S4N") == ../../bin/sandnet ]] ||
        { SETUP_ERR="cmake --install made no libexec/sandnet/slirp4netns -> ../../bin/sandnet: $(ls -l "$S4N" 2>&1)"; return 1; }
    must "tun node" sh -c "mknod '$T/tun' c 10 200 && chmod 666 '$T/tun'" || return 1
    printf 'nobody:%s:%s\n' "$SUBID_START" "$SUBID_COUNT" >"$T/subuid"
    cp "$T/subuid" "$T/subgid" && chmod 644 "$T/subuid" "$T/subgid"
    local f
    for f in /etc/subuid /etc/subgid; do
        [[ -e $f ]] && continue
        : >"$f" && SUBID_MADE+=("$f")
    done

    must "create $NS_HOST" ip netns add "$NS_HOST" || return 1
    NETNS_MADE+=("$NS_HOST")
    must "create $NS_INET" ip netns add "$NS_INET" || return 1
    NETNS_MADE+=("$NS_INET")
    if [[ ! -d /etc/netns ]]; then
        mkdir /etc/netns && ETC_NETNS_ROOT=1
    fi
    mkdir -p "/etc/netns/$NS_HOST" && ETC_NETNS_MADE+=("$NS_HOST")
    printf '# sandnet e2e\nnameserver %s\n' "$DNS_UP" >"/etc/netns/$NS_HOST/resolv.conf"
    local h=(ip -n "$NS_HOST") i=(ip -n "$NS_INET") a
    must "HOST lo" "${h[@]}" link set lo up || return 1
    must "INET lo" "${i[@]}" link set lo up || return 1
    must "veth" "${h[@]}" link add veth-inet type veth peer name veth-host netns "$NS_INET" || return 1
    for a in "$HOST_ADDR/24" "$HOST_ADDR_OUT/24"; do
        must "HOST $a" "${h[@]}" addr add "$a" dev veth-inet || return 1
    done
    for a in "$HOST_ADDR6/64" "$HOST_ADDR6_OUT/64"; do
        must "HOST $a" "${h[@]}" addr add "$a" dev veth-inet nodad || return 1
    done
    must "INET addr" "${i[@]}" addr add "$INET_ADDR/24" dev veth-host || return 1
    must "INET addr6" "${i[@]}" addr add "$INET_ADDR6/64" dev veth-host nodad || return 1
    must "HOST veth up" "${h[@]}" link set veth-inet up || return 1
    must "INET veth up" "${i[@]}" link set veth-host up || return 1
    must "HOST route" "${h[@]}" route add default via "$INET_ADDR" src "$HOST_ADDR" || return 1
    must "HOST route6" "${h[@]}" -6 route add default via "$INET_ADDR6" src "$HOST_ADDR6" || return 1
    for a in "$WEB" "$DNS_UP"; do
        must "INET $a" "${i[@]}" addr add "$a/32" dev lo || return 1
    done
    for a in "$WEB6" "$DNS_UP6"; do
        must "INET $a" "${i[@]}" addr add "$a/128" dev lo nodad || return 1
    done
    must "ping_group_range" ip netns exec "$NS_HOST" \
        sh -c 'echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range' || return 1

    must "random files" sh -c "head -c $BIG_SIZE /dev/urandom >'$T/www/big' &&
        head -c $MEDIUM_SIZE /dev/urandom >'$T/www/medium'" || return 1
    BIG_SHA=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
    MEDIUM_SHA=$(sha256sum <"$T/www/medium" | cut -d' ' -f1)
    TOKEN=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

    bg "$NS_INET" "$T/inet.log" "$PY" "$E2E_DIR/servers.py" inet --addr "$WEB" --addr6 "$WEB6" \
        --root "$T/www" --token "$TOKEN" --ready "$T/inet.ready"
    bg "$NS_HOST" "$T/hostlo.log" "$PY" "$E2E_DIR/servers.py" hostlo --addr 127.0.0.1 \
        --port "$HOSTLO_PORT" --token "hostlo-$TOKEN" --ready "$T/hostlo.ready"
    bg "$NS_INET" "$T/dnsmasq.out" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --bind-interfaces --port=53 --user=root --group=root --log-queries \
        --listen-address="$DNS_UP" --listen-address="$DNS_UP6" --local=/example.test/ \
        "--address=/www.example.test/$WEB" "--host-record=www6.example.test,$WEB6" \
        --address=/rebind.example.test/10.0.0.1 --pid-file="$T/dnsmasq.pid" \
        --log-facility="$T/dnsmasq.log"
    wait_for 100 "INET servers" test -e "$T/inet.ready" || return 1
    wait_for 100 "HOST loopback server" test -e "$T/hostlo.ready" || return 1
    wait_for 50 "dnsmasq" dig_is "$NS_INET" "$DNS_UP" www.example.test A "$WEB" || return 1
    wait_for 50 "HOST->INET http" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$WEB/n/0" || return 1
    wait_for 50 "HOST->INET http6" ip netns exec "$NS_HOST" curl -gfsS --max-time 2 -o /dev/null "http://[$WEB6]/n/0" || return 1
    must "HOST->INET dns" dig_is "$NS_HOST" "$DNS_UP" www.example.test A "$WEB" || return 1
    return 0
}

# ---------------------------------------------------------------- compat mode, as root

# compat_start ARGS...: sandnet's slirp4netns in HOST for a fresh GUEST,
# ready fd 3 and exit fd 4 (fifos: the exit fd's only writer is EXIT_W);
# REASON set on failure
COMPAT_LOG='' EXIT_W=''
compat_start() {
    local rd one=''
    [[ -e /run/netns/$NS_GUEST ]] && ip netns del "$NS_GUEST"
    ip netns add "$NS_GUEST" || { REASON="cannot create $NS_GUEST"; return 1; }
    [[ " ${NETNS_MADE[*]} " == *" $NS_GUEST "* ]] || NETNS_MADE+=("$NS_GUEST")
    rm -f "$T/ready" "$T/exit" && mkfifo "$T/ready" "$T/exit"
    # read-write opens of a fifo do not wait for the other end
    exec {rd}<>"$T/ready" {EXIT_W}<>"$T/exit"
    COMPAT_LOG=$T/$CURRENT.compat
    ip netns exec "$NS_HOST" "$S4N" "$@" --netns-type=path -r 3 -e 4 "/run/netns/$NS_GUEST" tap0 \
        3>"$T/ready" 4<"$T/exit" {rd}>&- {EXIT_W}>&- </dev/null >"$COMPAT_LOG.out" 2>"$COMPAT_LOG.err" &
    COMPAT_PID=$!
    read -r -t 15 -n 1 -u "$rd" one
    exec {rd}>&-
    if [[ $one != 1 ]]; then
        REASON="no \"1\" on the ready fd within 15 s (got '$one'); $(tail -n 1 "$COMPAT_LOG.err")"
        return 1
    fi
    return 0
}

# compat_stop: close the exit fd; REASON set unless sandnet exited 0 within 3 s
compat_stop() {
    local pid=$COMPAT_PID rc
    exec {EXIT_W}>&-
    COMPAT_PID=
    if ! wait_gone 30 "$pid"; then
        end_pids "$pid"
        REASON="still running 3 s after its exit fd hung up"
        return 1
    fi
    wait "$pid"
    rc=$?
    ((rc == 0)) || { REASON="exited $rc when its exit fd hung up: $(tail -n 1 "$COMPAT_LOG.err")"; return 1; }
    return 0
}

gx() { bounded "$1" ip netns exec "$NS_GUEST" "${@:2}"; } # a client in GUEST

case_compat_cli() {
    local w
    bounded 5 "$S4N" --version || { REASON="--version: $(why)"; return 1; }
    grep -qE '^slirp4netns version 1\.2\.[0-9]+$' <(head -n 1 "$G_OUT") ||
        { REASON="--version's first line: $(head -n 1 "$G_OUT")"; return 1; }
    grep -q '^sandnet version ' "$G_OUT" || { REASON="--version does not name sandnet"; return 1; }
    bounded 5 "$SANDNET" slirp4netns --version && grep -q '^slirp4netns version 1\.2\.' "$G_OUT" ||
        { REASON="sandnet slirp4netns --version: $(why)"; return 1; }
    bounded 5 "$S4N" --help || { REASON="--help: $(why)"; return 1; }
    # what rootlesskit's DetectFeatures looks for, and podman's options
    for w in --netns-type --enable-ipv6 --cidr --disable-host-loopback --api-socket \
        --enable-sandbox --enable-seccomp --userns-path --exit-fd --ready-fd --configure \
        --mtu --outbound-addr --disable-dns; do
        grep -q -- "$w" "$G_OUT" || { REASON="--help does not name $w"; return 1; }
    done
    bounded 5 "$S4N" --no-such-option 1 tap0
    ((G_RC == 2)) && grep -q -- "--no-such-option" "$G_ERR" ||
        { REASON="unknown option: want exit 2 naming it, got $(why)"; return 1; }
    bounded 5 "$S4N" --cidr 10.0.2.1/24 1 tap0
    ((G_RC == 2)) && grep -q -- "--cidr" "$G_ERR" ||
        { REASON="bad --cidr: want exit 2 naming it, got $(why)"; return 1; }
    bounded 5 "$S4N" --mtu 100 1 tap0
    ((G_RC == 2)) && grep -q -- "--mtu" "$G_ERR" ||
        { REASON="bad --mtu: want exit 2 naming it, got $(why)"; return 1; }
    bounded 5 "$S4N" -c
    ((G_RC == 2)) && grep -q "PID|PATH" "$G_ERR" ||
        { REASON="no PID: want exit 2, got $(why)"; return 1; }
    return 0
}

case_compat_attach() {
    local got
    compat_start -c || return 1
    ip -n "$NS_GUEST" -4 -o addr show dev tap0 | grep -q ' 10\.0\.2\.100/24 ' ||
        { REASON="tap0: $(ip -n "$NS_GUEST" -4 -o addr show dev tap0 2>&1)"; return 1; }
    ip -n "$NS_GUEST" route show default | grep -q '^default via 10\.0\.2\.2 dev tap0' ||
        { REASON="route: $(ip -n "$NS_GUEST" route show default 2>&1)"; return 1; }
    ip -n "$NS_GUEST" link show dev tap0 | grep -q ' mtu 1500 ' ||
        { REASON="MTU: $(ip -n "$NS_GUEST" link show dev tap0 | head -n 1)"; return 1; }
    ip -n "$NS_GUEST" link show dev lo | grep -q '[<,]UP[,>]' || { REASON="lo is not up"; return 1; }
    grep -q '^\* DNS: *10\.0\.2\.3$' "$COMPAT_LOG.out" ||
        { REASON="stdout does not say DNS 10.0.2.3: $(head -n 3 "$COMPAT_LOG.out")"; return 1; }
    gx 10 dig +short +time=2 +tries=2 @10.0.2.3 www.example.test A
    [[ $(cat "$G_OUT") == "$WEB" ]] || { REASON="dig @10.0.2.3: $(why)"; return 1; }
    gx 10 dig +short +time=2 +tries=2 +tcp @10.0.2.3 www.example.test A
    [[ $(cat "$G_OUT") == "$WEB" ]] || { REASON="dig +tcp @10.0.2.3: $(why)"; return 1; }
    gx 10 dig +short +time=2 +tries=2 @10.0.2.2 www.example.test A
    [[ $(cat "$G_OUT") == "$WEB" ]] || { REASON="dig @10.0.2.2: $(why)"; return 1; }
    gx 10 ping -n -c 1 -W 2 10.0.2.3 || { REASON="ping 10.0.2.3: $(why)"; return 1; }
    gx 60 sh -c "curl -fsS --max-time 50 http://$WEB/medium | sha256sum"
    got=$(cut -d' ' -f1 "$G_OUT")
    [[ $got == "$MEDIUM_SHA" ]] || { REASON="download: sha256 $got, want $MEDIUM_SHA; $(why)"; return 1; }
    # slirp4netns without -6 serves no IPv6: no router advertisement came
    [[ -z $(ip -n "$NS_GUEST" -6 -o addr show dev tap0 scope global) ]] ||
        { REASON="IPv6 without -6: $(ip -n "$NS_GUEST" -6 -o addr show dev tap0 scope global)"; return 1; }
    compat_stop
}

api() { # api JSON: one request to the control socket, its reply on stdout
    "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
print(s.makefile().read().strip())' "$T/api.sock" "$1"
}

case_compat_api() {
    local port=18080 reply id
    compat_start -c -a "$T/api.sock" || return 1
    reply=$(api '{"execute": "get_info"}')
    [[ $(jq -r '.return.dns + " " + .return.guest_addr' <<<"$reply") == "10.0.2.3 10.0.2.100" ]] ||
        { REASON="get_info: $reply"; return 1; }
    # (without the exit fd's writer, which would keep it from hanging up)
    ip netns exec "$NS_GUEST" "$PY" "$E2E_DIR/servers.py" hostlo --addr 10.0.2.100 --port 80 \
        --token "guest-$TOKEN" --ready "$T/guest-web.ready" {EXIT_W}>&- </dev/null \
        >"$T/guest-web.log" 2>&1 &
    BG_PIDS+=($!)
    wait_for 100 "the guest's server" test -e "$T/guest-web.ready" || { REASON=$SETUP_ERR; return 1; }
    reply=$(api '{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": '"$port"', "guest_port": 80}}')
    id=$(jq -r '.return.id' <<<"$reply")
    [[ $id =~ ^[0-9]+$ ]] || { REASON="add_hostfwd: $reply"; return 1; }
    bounded 10 ip netns exec "$NS_HOST" curl -fsS --max-time 5 "http://127.0.0.1:$port/"
    [[ $(cat "$G_OUT") == "guest-$TOKEN" ]] || { REASON="through the forward: $(why)"; return 1; }
    reply=$(api '{"execute": "list_hostfwd"}')
    [[ $(jq -r ".return.entries[] | select(.id == $id) | .host_port" <<<"$reply") == "$port" ]] ||
        { REASON="list_hostfwd: $reply"; return 1; }
    reply=$(api '{"execute": "remove_hostfwd", "arguments": {"id": '"$id"'}}')
    [[ $(jq -c .return <<<"$reply") == '{}' ]] || { REASON="remove_hostfwd: $reply"; return 1; }
    bounded 10 ip netns exec "$NS_HOST" curl -fsS --max-time 3 "http://127.0.0.1:$port/" &&
        { REASON="the port still answers after remove_hostfwd"; return 1; }
    compat_stop
}

slaac_ready() { # tap0 in GUEST has a usable address in fd00::/64
    ip -n "$NS_GUEST" -6 -o addr show dev tap0 scope global -tentative 2>/dev/null | grep -q ' fd00::'
}

case_compat_ipv6() {
    local got n=100
    compat_start -c -6 || return 1
    while ((n-- > 0)) && ! slaac_ready; do sleep 0.1; done
    slaac_ready || { REASON="no SLAAC address in fd00::/64 within 10 s: $(ip -n "$NS_GUEST" -6 -o addr show dev tap0 2>&1 | tr '\n' ' ')"; return 1; }
    gx 10 dig +short +time=2 +tries=2 @fd00::3 www6.example.test AAAA
    [[ $(cat "$G_OUT") == "$WEB6" ]] || { REASON="dig AAAA @fd00::3: $(why)"; return 1; }
    gx 10 ping -6 -n -c 1 -W 2 fd00::3 || { REASON="ping fd00::3: $(why)"; return 1; }
    gx 60 sh -c "curl -gfsS --max-time 50 'http://[$WEB6]/medium' | sha256sum"
    got=$(cut -d' ' -f1 "$G_OUT")
    [[ $got == "$MEDIUM_SHA" ]] || { REASON="download over IPv6: sha256 $got; $(why)"; return 1; }
    compat_stop
}

case_compat_outbound() {
    local n=100
    compat_start -c -6 --disable-dns --outbound-addr "$HOST_ADDR_OUT" \
        --outbound-addr6 "$HOST_ADDR6_OUT" || return 1
    gx 10 curl -fsS --max-time 5 "http://$WEB/who"
    [[ $(cut -d' ' -f1 "$G_OUT") == "$HOST_ADDR_OUT" ]] ||
        { REASON="the server saw $(why), want $HOST_ADDR_OUT"; return 1; }
    gx 10 dig +short +time=1 +tries=1 @10.0.2.3 "dis-$TOKEN.www.example.test" A
    ((G_RC != 0)) && ! grep -q "dis-$TOKEN" "$T/dnsmasq.log" ||
        { REASON="10.0.2.3 answered with --disable-dns: $(why)"; return 1; }
    gx 10 dig +short +time=2 +tries=2 @10.0.2.2 "out-$TOKEN.www.example.test" A
    grep -q "out-$TOKEN.www.example.test from $HOST_ADDR_OUT" "$T/dnsmasq.log" ||
        { REASON="the resolver did not see $HOST_ADDR_OUT: $(grep "out-$TOKEN" "$T/dnsmasq.log" | tail -n 1)"; return 1; }
    while ((n-- > 0)) && ! slaac_ready; do sleep 0.1; done
    gx 10 curl -gfsS --max-time 5 "http://[$WEB6]/who"
    [[ $(cut -d' ' -f1 "$G_OUT") == "$HOST_ADDR6_OUT" ]] ||
        { REASON="the server saw $(why) over IPv6, want $HOST_ADDR6_OUT"; return 1; }
    compat_stop
}

# ---------------------------------------------------------------- rootlesskit, as nobody

# What runs inside rootlesskit: KEY=value lines.
make_rk_inner() {
    cat >"$T/rk-inner.sh" <<EOF
echo "resolv=\$(grep -m1 '^nameserver' /etc/resolv.conf | awk '{print \$2}')"
echo "addr=\$(ip -4 -o addr show dev tap0 | awk '{print \$4}')"
t0=\$(date +%s.%N)
echo "sha=\$(curl -fsS --max-time 120 http://$WEB/big | sha256sum | cut -d' ' -f1)"
echo "secs=\$(awk -v a="\$t0" -v b="\$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
echo "dns3=\$(dig +short +time=2 +tries=2 www.example.test A)"
echo "dns2=\$(dig +short +time=2 +tries=2 @10.0.2.2 www.example.test A)"
echo "rebind=\$(dig +time=2 +tries=2 @10.0.2.3 rebind.example.test A | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
echo "hostlo=\$(curl -sS --max-time 4 http://10.0.2.2:$HOSTLO_PORT/ 2>/dev/null || echo refused)"
EOF
    chmod 644 "$T/rk-inner.sh"
}

# rootlesskit_run NAME BINARY [FLAG...]: run rk-inner.sh under rootlesskit as
# nobody; its lines in $T/NAME.rk
rootlesskit_run() {
    local name=$1 bin=$2
    shift 2
    [[ -e $T/rk-inner.sh ]] || make_rk_inner
    as_nobody 240 rootlesskit --state-dir="$T_HOME/rk-$name" --net=slirp4netns \
        --slirp4netns-binary="$bin" --copy-up=/etc "$@" sh "$T/rk-inner.sh"
    cp "$G_OUT" "$T/$name.rk"
}

# rk_check FILE WANT_HOSTLO WANT_REBIND [GATEWAY_DNS]: the common checks; the
# gateway's port 53 is checked unless GATEWAY_DNS is "no"
rk_check() {
    local f=$1 got
    ((G_RC == 0)) || { REASON="rootlesskit: $(why)"; return 1; }
    [[ $(val resolv "$f") == 10.0.2.3 ]] || { REASON="resolv.conf names '$(val resolv "$f")'"; return 1; }
    [[ $(val addr "$f") == 10.0.2.100/24 ]] || { REASON="tap0 has '$(val addr "$f")'"; return 1; }
    got=$(val sha "$f")
    [[ $got == "$BIG_SHA" ]] || { REASON="50 MB download: sha256 '$got', want $BIG_SHA; $(why)"; return 1; }
    [[ $(val dns3 "$f") == "$WEB" ]] || { REASON="dig through 10.0.2.3 (resolv.conf): '$(val dns3 "$f")'"; return 1; }
    [[ ${4:-} == no || $(val dns2 "$f") == "$WEB" ]] || { REASON="dig @10.0.2.2: '$(val dns2 "$f")'"; return 1; }
    [[ $(val hostlo "$f") == "$2" ]] || { REASON="host loopback through 10.0.2.2:$HOSTLO_PORT: '$(val hostlo "$f")', want '$2'"; return 1; }
    [[ $(val rebind "$f") == "$3" ]] || { REASON="rebind.example.test (10.0.0.1): '$(val rebind "$f")', want $3"; return 1; }
    diag "$CURRENT: 50 MB in $(val secs "$f") s"
    return 0
}

case_rootlesskit_sandnet() {
    rootlesskit_run sandnet "$S4N" --disable-host-loopback
    # sandnet's rebind protection answers NXDOMAIN: proof it was sandnet
    rk_check "$T/sandnet.rk" refused NXDOMAIN
}

case_rootlesskit_hostloop() {
    rootlesskit_run hostloop "$S4N"
    rk_check "$T/hostloop.rk" "hostlo-$TOKEN" NXDOMAIN
}

case_rootlesskit_slirp4netns() {
    local bin
    bin=$(command -v slirp4netns) || { SKIP_REASON="Debian's slirp4netns is not installed"; return 2; }
    "$bin" --version >/dev/null 2>&1 || { SKIP_REASON="$bin --version fails"; return 2; }
    rootlesskit_run slirp4netns "$bin" --disable-host-loopback
    # slirp4netns forwards the answer as it is; its gateway is no DNS server
    rk_check "$T/slirp4netns.rk" refused NOERROR no
}

# ---------------------------------------------------------------- attach --userns, as nobody

case_attach_userns() {
    cat >"$T/userns.sh" <<EOF
unshare -rn sleep 120 &
P=\$!
n=50
while [ \$n -gt 0 ] && [ "\$(readlink /proc/\$P/ns/net)" = "\$(readlink /proc/self/ns/net)" ]; do
    sleep 0.1; n=\$((n - 1))
done
in_ns() { nsenter --preserve-credentials -t \$P -U -n "\$@"; }
$SANDNET attach --netns /proc/\$P/ns/net --tap tap1 2>$T/out/denied.err
echo "denied_rc=\$?"
$SANDNET attach --userns /proc/\$P/ns/user --netns /proc/\$P/ns/net --configure 2>$T/out/attach.err &
S=\$!
n=100
while [ \$n -gt 0 ] && ! in_ns ip -4 -o addr show dev tap0 2>/dev/null | grep -q ' 10\.0\.2\.15/24 '; do
    sleep 0.1; n=\$((n - 1))
done
echo "uid=\$(awk '/^Uid:/{print \$2}' /proc/\$S/status)"
echo "sha=\$(in_ns curl -fsS --max-time 120 http://$WEB/big | sha256sum | cut -d' ' -f1)"
kill -TERM \$S
wait \$S
echo "attach_rc=\$?"
kill \$P
wait \$P 2>/dev/null
exit 0
EOF
    chmod 644 "$T/userns.sh"
    as_nobody 200 sh "$T/userns.sh"
    local f=$G_OUT got
    ((G_RC == 0)) || { REASON="$(why)"; return 1; }
    [[ $(val denied_rc "$f") == 1 ]] || { REASON="attach without --userns: exit '$(val denied_rc "$f")', want 1"; return 1; }
    [[ $(wc -l <"$T/out/denied.err") == 1 ]] && grep -q -- '--userns' "$T/out/denied.err" ||
        { REASON="attach without --userns: want one line naming --userns: $(head -c 300 "$T/out/denied.err")"; return 1; }
    [[ $(val uid "$f") == "$NOBODY" ]] || { REASON="sandnet runs as uid '$(val uid "$f")', want $NOBODY"; return 1; }
    got=$(val sha "$f")
    [[ $got == "$BIG_SHA" ]] || { REASON="50 MB download: sha256 '$got'; attach: $(tail -n 1 "$T/out/attach.err")"; return 1; }
    [[ $(val attach_rc "$f") == 0 ]] || { REASON="attach exited '$(val attach_rc "$f")' on SIGTERM: $(tail -n 1 "$T/out/attach.err")"; return 1; }
    return 0
}

# ---------------------------------------------------------------- main

if ! setup; then
    fail setup "$SETUP_ERR"
    diag_file "INET servers" "$T/inet.log"
    diag_file dnsmasq "$T/dnsmasq.out"
    summary
    exit 1
fi

for c in "${SELECTED[@]}"; do
    CURRENT=$c REASON='' SKIP_REASON=''
    fn=case_${c//-/_}
    "$fn"
    rc=$?
    if ((rc == 0)); then
        pass "$c"
    elif ((rc == 2)) && [[ -n $SKIP_REASON ]]; then
        skip "$c" "$SKIP_REASON"
    else
        fail "$c" "${REASON:-failed}"
        [[ -n $COMPAT_PID ]] && end_pids "$COMPAT_PID" && COMPAT_PID=''
        [[ -n $COMPAT_LOG ]] && diag_file "sandnet slirp4netns" "$COMPAT_LOG.err"
        diag_file "last command" "$G_ERR"
    fi
    COMPAT_LOG=''
done
summary
((FAILED == 0))
