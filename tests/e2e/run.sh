#!/usr/bin/env bash
# sandnet end-to-end tests: real network namespaces, real servers, real
# clients (DESIGN.md §5).
#
#   bash tests/e2e/run.sh --sandnet PATH --mode run|unpriv|attach [--only NAME[,NAME]...] [--keep]
#   (unpriv: run mode with sandnet as user nobody, given a 0666 /dev/net/tun
#   node bind-mounted in a private mount namespace; the machine's node is
#   never changed)
#
# Needs root. Topology, on documentation addresses only, with no link to the
# machine's own network namespace (every interface is made inside ours):
#
#   GUEST tap0 10.0.2.15/24 ==sandnet== HOST 198.51.100.2 --veth-- INET 198.51.100.1
#
#   GUEST  run mode: the namespace `sandnet run` makes (one per case);
#          attach mode: sne2e-guest-PID-a (-b for --allow-host-loopback),
#          resolver from /etc/netns/<ns>/resolv.conf
#   HOST   sne2e-host-PID: sandnet runs here; 127.0.0.1:8080 HTTP service
#   INET   sne2e-inet-PID: on lo 192.0.2.10 (HTTP :80, UDP echo :7, TCP
#          sha-after-EOF :9000, nothing on :81), 192.0.2.53 (dnsmasq, the
#          upstream), 203.0.113.7 (a second dnsmasq)
#
# Cases: guest-config exit-status(run) download download-name upload
# dns-gateway-udp dns-gateway-tcp dns-intercept udp-echo ping-gateway
# ping-remote tcp-refused tcp-half-close tcp-concurrent-200 hostlo-denied
# hostlo-allowed attach-lifecycle(-hostlo)(attach).
#
# Prints "PASS name" or "FAIL name: reason" per case, then "N passed, N failed";
# exits 0 only if every case passed. Diagnostics go to stderr prefixed "# ".
# --keep leaves the temporary directory (logs, outputs) in place.

set -u
shopt -s nullglob

E2E_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: $0 --sandnet PATH --mode run|unpriv|attach [--only NAME[,NAME]...] [--keep]" >&2
    exit 2
}

SANDNET='' MODE='' ONLY='' KEEP=0
while (($#)); do
    case $1 in
    --sandnet) (($# >= 2)) || usage; SANDNET=$2; shift 2 ;;
    --mode) (($# >= 2)) || usage; MODE=$2; shift 2 ;;
    --only) (($# >= 2)) || usage; ONLY=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) usage ;;
    esac
done
UNPRIV=0
if [[ $MODE == unpriv ]]; then
    MODE=run UNPRIV=1
fi
[[ -n $SANDNET && ($MODE == run || $MODE == attach) ]] || usage

# ---------------------------------------------------------------- constants

GW=10.0.2.2
WEB=192.0.2.10        # INET: HTTP :80, UDP echo :7, half-close TCP :9000; :81 closed
DNS_UP=192.0.2.53     # INET: dnsmasq, the --dns-upstream
DNS_OTHER=203.0.113.7 # INET: a second dnsmasq, for the "any address's port 53" case
HOST_ADDR=198.51.100.2
INET_ADDR=198.51.100.1
HOSTLO_PORT=8080

NS_HOST=sne2e-host-$$
NS_INET=sne2e-inet-$$
NS_GUEST=sne2e-guest-$$ # attach mode: -a (no host loopback), -b (--allow-host-loopback)

BIG_SIZE=$((50 * 1024 * 1024))
MEDIUM_SIZE=$((4 * 1024 * 1024))

# Every process started from here carries this; cleanup ends any that remain.
export SNE2E_TAG="sne2e-$$-$RANDOM$RANDOM"

# ---------------------------------------------------------------- reporting

PASSED=0 FAILED=0 SUMMARY_DONE=0 CURRENT='' INTERRUPTED=''
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() {
    local r=${2//$'\n'/ | }
    echo "FAIL $1: $r"
    FAILED=$((FAILED + 1))
}
diag() { printf '# %s\n' "$*" >&2; }
diag_file() { # diag_file LABEL FILE: the tail of FILE on stderr
    [[ -s $2 ]] || return 0
    printf '#   --- %s (%s)\n' "$1" "${2##*/}" >&2
    tail -n 15 -- "$2" | cut -c1-300 | sed 's/^/#   /' >&2
}
summary() {
    ((SUMMARY_DONE)) && return
    SUMMARY_DONE=1
    echo "$PASSED passed, $FAILED failed"
}

# ---------------------------------------------------------------- cases

CASES=(guest-config exit-status download download-name upload
    dns-gateway-udp dns-gateway-tcp dns-intercept udp-echo
    ping-gateway ping-remote tcp-refused tcp-half-close tcp-concurrent-200
    hostlo-denied attach-lifecycle hostlo-allowed attach-lifecycle-hostlo)
case_applies() { # mode-specific cases
    case $1 in
    exit-status) [[ $MODE == run ]] ;;
    attach-lifecycle*) [[ $MODE == attach ]] ;;
    *) true ;;
    esac
}

SELECTED=()
if [[ -n $ONLY ]]; then
    IFS=, read -r -a ONLY_LIST <<<"$ONLY"
    for w in "${ONLY_LIST[@]}"; do
        found=0
        for c in "${CASES[@]}"; do [[ $c == "$w" ]] && found=1; done
        if ((!found)); then
            echo "unknown case '$w'; cases: ${CASES[*]}" >&2
            exit 2
        fi
        if ! case_applies "$w"; then
            echo "case '$w' does not apply to --mode $MODE" >&2
            exit 2
        fi
    done
    for c in "${CASES[@]}"; do # keep the canonical order
        for w in "${ONLY_LIST[@]}"; do [[ $c == "$w" ]] && SELECTED+=("$c"); done
    done
else
    for c in "${CASES[@]}"; do case_applies "$c" && SELECTED+=("$c"); done
fi

# ---------------------------------------------------------------- cleanup

T=''              # temporary directory
NETNS_MADE=()     # namespaces created here
ETC_NETNS_MADE=() # /etc/netns/<ns> directories created here
ETC_NETNS_ROOT=0  # 1 if /etc/netns itself was created here
BG_PIDS=()        # servers
CHILD=''          # the current bounded guest command (a `timeout` process)
ATTACH_PID='' ATTACH_FLAG='' ATTACH_NS='' ATTACH_LOG=''
declare -A ATTACH_BROKEN=()

wait_gone() { # wait_gone TENTHS PID...: true once none of PIDs is alive
    local n=$1 p alive
    shift
    while ((n-- > 0)); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

end_pids() { # end_pids PID...: TERM, up to 3 s, then KILL
    (($#)) || return 0
    kill -TERM "$@" 2>/dev/null
    wait_gone 30 "$@" || kill -KILL "$@" 2>/dev/null
    wait_gone 20 "$@"
}

end_netns_pids() { # end every process inside namespace $1
    local pids
    pids=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [[ -n ${pids// /} ]] && end_pids $pids
    return 0
}

tagged_pids() { # processes (other than this shell) carrying $SNE2E_TAG
    local d p e env
    TAGGED=()
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [[ $p == "$$" ]] && continue
        mapfile -d '' env 2>/dev/null <"$d/environ" || continue
        for e in "${env[@]}"; do
            if [[ $e == "SNE2E_TAG=$SNE2E_TAG" ]]; then
                TAGGED+=("$p")
                break
            fi
        done
    done
}

cleanup() {
    trap - EXIT INT TERM HUP
    [[ -n $CHILD ]] && end_pids "$CHILD"
    [[ -n $ATTACH_PID ]] && end_pids "$ATTACH_PID"
    ((${#BG_PIDS[@]})) && end_pids "${BG_PIDS[@]}"
    local ns d
    for ns in "${NETNS_MADE[@]}"; do end_netns_pids "$ns"; done
    tagged_pids
    if ((${#TAGGED[@]})); then
        diag "ending leftover processes: ${TAGGED[*]}"
        end_pids "${TAGGED[@]}"
    fi
    for ns in "${NETNS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    for d in "${ETC_NETNS_MADE[@]}"; do rm -rf -- "/etc/netns/$d"; done
    ((ETC_NETNS_ROOT)) && rmdir /etc/netns 2>/dev/null
    if [[ -n $T && -d $T ]]; then
        if ((KEEP)); then diag "kept $T"; else rm -rf -- "$T"; fi
    fi
    # Say so if anything is left.
    for ns in "${NETNS_MADE[@]}"; do
        ip netns list 2>/dev/null | grep -qw -- "$ns" && diag "LEAK: namespace $ns remains"
    done
    for d in "${ETC_NETNS_MADE[@]}"; do
        [[ -e /etc/netns/$d ]] && diag "LEAK: /etc/netns/$d remains"
    done
    tagged_pids
    ((${#TAGGED[@]})) && diag "LEAK: processes remain: ${TAGGED[*]}"
    return 0
}

on_exit() {
    local rc=$?
    if [[ -n $INTERRUPTED ]]; then
        fail "${CURRENT:-harness}" "interrupted by SIG$INTERRUPTED"
        summary
        rc=1
    fi
    cleanup
    exit "$rc"
}
trap on_exit EXIT
trap 'INTERRUPTED=INT; exit 130' INT
trap 'INTERRUPTED=TERM; exit 143' TERM
trap 'INTERRUPTED=HUP; exit 129' HUP

# Namespaces and temporary directories left by an earlier run that was
# killed outright (SIGKILL); names carry the run's PID.
live_run() { # live_run PID: this run, or another run of this script still going
    [[ $1 == "$$" ]] && return 0
    [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'run\.sh'
}
sweep_stale() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^sne2e-(host|inet|guest)-([0-9]+)(-[ab])?$ ]] || continue
        live_run "${BASH_REMATCH[2]}" && continue
        diag "removing stale namespace $ns"
        end_netns_pids "$ns"
        ip netns del "$ns" 2>/dev/null
        [[ -d /etc/netns/$ns ]] && rm -rf -- "/etc/netns/$ns"
    done
    local d
    for d in /tmp/sne2e-[0-9]*.*; do
        [[ $d =~ ^/tmp/sne2e-([0-9]+)\. && -d $d ]] || continue
        live_run "${BASH_REMATCH[1]}" && continue
        diag "removing stale $d"
        rm -rf -- "$d"
    done
}

# ---------------------------------------------------------------- prerequisites

prereq_fail() {
    fail prerequisites "$1"
    summary
    exit 1
}

missing=()
for tool in ip curl dig socat ping dnsmasq python3 timeout sha256sum head awk sed grep tr cut od sh; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || prereq_fail "missing tools: ${missing[*]} (need iproute2, curl, bind9-dnsutils, socat, iputils-ping, dnsmasq-base, python3, coreutils)"
((EUID == 0)) || prereq_fail "must run as root (creates network namespaces)"
case $SANDNET in /*) ;; *) SANDNET=$PWD/$SANDNET ;; esac
[[ -f $SANDNET && -x $SANDNET ]] || prereq_fail "sandnet binary not found or not executable: $SANDNET"
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
# the unprivileged guest cannot use an interpreter under root's home
((UNPRIV)) && [[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
python3 -c 'import sys; sys.exit(sys.version_info < (3, 7))' 2>/dev/null ||
    prereq_fail "python3 >= 3.7 needed"
[[ -e /etc/resolv.conf ]] || prereq_fail "/etc/resolv.conf missing (ip netns exec bind-mounts over it)"

sweep_stale

# ---------------------------------------------------------------- running commands

# bounded SECONDS ARGV...: run ARGV with stdin closed, output in $G_OUT/$G_ERR,
# killed (with its process group) after SECONDS; interruptible by signals.
bounded() {
    local tmo=$1
    shift
    timeout -k 5 "$tmo" "$@" </dev/null >"$G_OUT" 2>"$G_ERR" &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=
    return $rc
}

G_N=0 G_RC=0 G_OUT='' G_ERR='' HOSTLO=0 EXTRA_OPTS=()
# g SECONDS ARGV...: run ARGV as a client in the guest; status in G_RC.
# run mode: a fresh `sandnet run` per call; attach mode: ip netns exec GUEST.
g() {
    local tmo=$1
    shift
    G_N=$((G_N + 1))
    G_OUT=$T/$CURRENT.$G_N.out G_ERR=$T/$CURRENT.$G_N.err
    if [[ $MODE == run ]]; then
        local opts=(--dns-upstream "$DNS_UP")
        ((HOSTLO)) && opts+=(--allow-host-loopback)
        if ((UNPRIV)); then
            # nobody, with a usable tun node in a private mount namespace
            bounded "$tmo" ip netns exec "$NS_HOST" unshare -m -- sh -c \
                'mount --bind "$1" /dev/net/tun && shift && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' \
                sh "$T/tun" "$T/sandnet" run "${opts[@]}" ${EXTRA_OPTS[@]+"${EXTRA_OPTS[@]}"} -- "$@"
        else
            bounded "$tmo" ip netns exec "$NS_HOST" "$SANDNET" run "${opts[@]}" \
                ${EXTRA_OPTS[@]+"${EXTRA_OPTS[@]}"} -- "$@"
        fi
    else
        bounded "$tmo" ip netns exec "$ATTACH_NS" "$@"
    fi
    G_RC=$?
    return $G_RC
}

# A reason from the last g call: its status, first line of output, last of errors.
why() {
    local s="exit $G_RC"
    ((G_RC == 124 || G_RC == 137)) && s="timed out"
    local o e
    o=$(head -n 1 -- "$G_OUT" 2>/dev/null | cut -c1-160)
    e=$(grep -v '^[[:space:]]*$' -- "$G_ERR" 2>/dev/null | tail -n 1 | cut -c1-200)
    [[ -n $o ]] && s+="; out: $o"
    [[ -n $e ]] && s+="; err: $e"
    printf '%s' "$s"
}

# ---------------------------------------------------------------- topology

SETUP_ERR=
must() { # must DESCRIPTION ARGV...
    local d=$1 out
    shift
    if ! out=$("$@" 2>&1 </dev/null); then
        SETUP_ERR="$d: $(printf '%s' "$out" | tail -n 1)"
        return 1
    fi
}

inet_bg() { # inet_bg NS LOG ARGV...: start a server in namespace NS
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
    BG_PIDS+=($!)
}

wait_for() { # wait_for TENTHS DESCRIPTION ARGV...: until ARGV succeeds
    local n=$1 d=$2
    shift 2
    while ((n-- > 0)); do
        "$@" >/dev/null 2>&1 </dev/null && return 0
        sleep 0.1
    done
    SETUP_ERR="$d not ready"
    return 1
}

dig_is() { # dig_is NS SERVER NAME WANT
    [[ $(ip netns exec "$1" dig @"$2" "$3" A +short +time=1 +tries=1 2>/dev/null) == "$4" ]]
}

setup() {
    T=$(mktemp -d "/tmp/sne2e-$$.XXXXXX") || { SETUP_ERR="mktemp failed"; return 1; }
    chmod 755 "$T"
    if ((UNPRIV)); then
        # the unprivileged guest writes its downloads here
        chmod 1777 "$T"
        must "tun node" sh -c "mknod '$T/tun' c 10 200 && chmod 666 '$T/tun'" || return 1
        # a copy nobody can execute wherever the build tree lives
        must "sandnet copy" install -m 755 "$SANDNET" "$T/sandnet" || return 1
    fi
    mkdir -p "$T/www"
    TOKEN=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
    HOSTLO_TOKEN=hostlo-$TOKEN

    must "create $NS_HOST" ip netns add "$NS_HOST" || return 1
    NETNS_MADE+=("$NS_HOST")
    must "create $NS_INET" ip netns add "$NS_INET" || return 1
    NETNS_MADE+=("$NS_INET")
    local h=(ip -n "$NS_HOST") i=(ip -n "$NS_INET")
    must "HOST lo" "${h[@]}" link set lo up || return 1
    must "INET lo" "${i[@]}" link set lo up || return 1
    # The veth is made inside HOST with its peer straight in INET: nothing
    # ever touches the initial namespace.
    must "veth" "${h[@]}" link add veth-inet type veth peer name veth-host netns "$NS_INET" || return 1
    must "HOST addr" "${h[@]}" addr add "$HOST_ADDR/24" dev veth-inet || return 1
    must "INET addr" "${i[@]}" addr add "$INET_ADDR/24" dev veth-host || return 1
    must "HOST veth up" "${h[@]}" link set veth-inet up || return 1
    must "INET veth up" "${i[@]}" link set veth-host up || return 1
    must "HOST default route" "${h[@]}" route add default via "$INET_ADDR" || return 1
    local a
    for a in "$WEB" "$DNS_UP" "$DNS_OTHER"; do
        must "INET $a" "${i[@]}" addr add "$a/32" dev lo || return 1
    done
    must "ping_group_range" ip netns exec "$NS_HOST" \
        sh -c 'echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range' || return 1

    must "random files" sh -c "head -c $BIG_SIZE /dev/urandom >'$T/www/big' &&
        head -c $MEDIUM_SIZE /dev/urandom >'$T/www/medium' &&
        head -c $BIG_SIZE /dev/urandom >'$T/up.bin'" || return 1
    BIG_SHA=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
    MEDIUM_SHA=$(sha256sum <"$T/www/medium" | cut -d' ' -f1)
    UP_SHA=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)

    inet_bg "$NS_INET" "$T/inet-servers.log" "$PY" "$E2E_DIR/servers.py" inet \
        --addr "$WEB" --root "$T/www" --token "$TOKEN" --ready "$T/inet.ready"
    inet_bg "$NS_HOST" "$T/hostlo-server.log" "$PY" "$E2E_DIR/servers.py" hostlo \
        --addr 127.0.0.1 --port "$HOSTLO_PORT" --token "$HOSTLO_TOKEN" --ready "$T/hostlo.ready"
    local dm=(dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts
        --bind-interfaces --port=53 --user=root --group=root --log-queries
        --local=/example.test/ "--address=/www.example.test/$WEB")
    # the upstream, and a second resolver that knows one more name, so that an
    # answer for only-b.example.test proves the query reached 203.0.113.7
    inet_bg "$NS_INET" "$T/dnsmasq-up.out" "${dm[@]}" --listen-address="$DNS_UP" \
        --pid-file="$T/dnsmasq-up.pid" --log-facility="$T/dnsmasq-up.log"
    inet_bg "$NS_INET" "$T/dnsmasq-other.out" "${dm[@]}" --listen-address="$DNS_OTHER" \
        --pid-file="$T/dnsmasq-other.pid" --log-facility="$T/dnsmasq-other.log" \
        --address=/only-b.example.test/192.0.2.77

    wait_for 100 "INET servers" test -e "$T/inet.ready" || return 1
    wait_for 100 "HOST loopback server" test -e "$T/hostlo.ready" || return 1
    wait_for 50 "dnsmasq on $DNS_UP" dig_is "$NS_INET" "$DNS_UP" www.example.test "$WEB" || return 1
    wait_for 50 "dnsmasq on $DNS_OTHER" dig_is "$NS_INET" "$DNS_OTHER" only-b.example.test 192.0.2.77 || return 1

    # The topology itself, checked from HOST without sandnet.
    wait_for 50 "HOST->INET http" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$WEB/n/0" || return 1
    must "HOST->INET dns" dig_is "$NS_HOST" "$DNS_UP" www.example.test "$WEB" || return 1
    must "HOST->INET ping" ip netns exec "$NS_HOST" ping -n -c 1 -W 2 "$WEB" || return 1
    must "HOST loopback service" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$HOSTLO_PORT/" || return 1
    return 0
}

# ---------------------------------------------------------------- attach mode

tap_ready() { # tap0 in $1 is up, addressed and routed
    ip -n "$1" link show dev tap0 2>/dev/null | grep -q '[<,]UP[,>]' &&
        ip -n "$1" -4 -o addr show dev tap0 2>/dev/null | grep -q " 10\.0\.2\.15/24 " &&
        ip -n "$1" route show default 2>/dev/null | grep -q "via $GW dev tap0"
}

attach_start() { # attach_start FLAG: start `sandnet attach` for a fresh guest
    local flag=$1 sfx=a
    ((flag)) && sfx=b
    ATTACH_NS=$NS_GUEST-$sfx
    ATTACH_LOG=$T/attach-$sfx.err
    if ! ip netns add "$ATTACH_NS" 2>"$T/netns-$sfx.err"; then
        ATTACH_ERR="cannot create $ATTACH_NS: $(tail -n 1 "$T/netns-$sfx.err")"
        return 1
    fi
    NETNS_MADE+=("$ATTACH_NS")
    ip -n "$ATTACH_NS" link set lo up
    if [[ ! -d /etc/netns ]]; then
        mkdir /etc/netns && ETC_NETNS_ROOT=1
    fi
    mkdir -p "/etc/netns/$ATTACH_NS" && ETC_NETNS_MADE+=("$ATTACH_NS")
    echo "nameserver $GW" >"/etc/netns/$ATTACH_NS/resolv.conf"

    local opts=(--netns "/run/netns/$ATTACH_NS" --configure --dns-upstream "$DNS_UP")
    ((flag)) && opts+=(--allow-host-loopback)
    ip netns exec "$NS_HOST" "$SANDNET" attach "${opts[@]}" </dev/null >"$T/attach-$sfx.out" 2>"$ATTACH_LOG" &
    ATTACH_PID=$! ATTACH_FLAG=$flag
    local n=150
    while ((n-- > 0)); do
        if ! kill -0 "$ATTACH_PID" 2>/dev/null; then
            wait "$ATTACH_PID"
            ATTACH_ERR="sandnet attach exited (status $?) before tap0 was ready: $(tail -n 1 "$ATTACH_LOG")"
            ATTACH_PID=
            return 1
        fi
        tap_ready "$ATTACH_NS" && return 0
        sleep 0.1
    done
    ATTACH_ERR="tap0 in $ATTACH_NS not up with 10.0.2.15/24 and a default route via $GW within 15 s: $(ip -n "$ATTACH_NS" -br addr show dev tap0 2>&1); $(ip -n "$ATTACH_NS" route show default 2>&1)"
    end_pids "$ATTACH_PID"
    ATTACH_PID=
    return 1
}

# attach_stop: SIGTERM the running instance; ATTACH_STOP_ERR is empty iff it
# was still running and exited 0 within 10 s.
attach_stop() {
    ATTACH_STOP_ERR=
    [[ -n $ATTACH_PID ]] || return 0
    local pid=$ATTACH_PID rc
    ATTACH_PID=
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        ATTACH_STOP_ERR="sandnet attach had already exited (status $?) before SIGTERM: $(tail -n 1 "$ATTACH_LOG")"
        return 1
    fi
    kill -TERM "$pid"
    if ! wait_gone 100 "$pid"; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        ATTACH_STOP_ERR="sandnet attach still running 10 s after SIGTERM"
        return 1
    fi
    wait "$pid"
    rc=$?
    ((rc == 0)) || ATTACH_STOP_ERR="sandnet attach exited with status $rc after SIGTERM: $(tail -n 1 "$ATTACH_LOG")"
    ((rc == 0))
}

attach_ensure() { # attach_ensure FLAG: an instance with (1) or without (0) --allow-host-loopback
    local flag=$1
    if [[ -n $ATTACH_PID && $ATTACH_FLAG == "$flag" ]]; then
        kill -0 "$ATTACH_PID" 2>/dev/null && return 0
        attach_stop
        ATTACH_BROKEN[$flag]=$ATTACH_STOP_ERR
    fi
    if [[ -n ${ATTACH_BROKEN[$flag]:-} ]]; then
        ATTACH_ERR=${ATTACH_BROKEN[$flag]}
        return 1
    fi
    if [[ -n $ATTACH_PID ]]; then # the other flavour: stop it quietly
        attach_stop || diag "$ATTACH_STOP_ERR"
    fi
    attach_start "$flag" && return 0
    ATTACH_BROKEN[$flag]=$ATTACH_ERR
    return 1
}

# ---------------------------------------------------------------- the cases
# Each sets REASON and returns non-zero on failure.

case_guest_config() {
    local script
    script=$(
        cat <<'EOF'
fail() { echo "$*"; exit 1; }
ip -4 -o addr show dev tap0 | grep -q " 10\.0\.2\.15/24 " || fail "tap0 lacks 10.0.2.15/24: $(ip -4 -o addr show dev tap0 2>&1)"
ip link show dev tap0 | grep -q "[<,]UP[,>]" || fail "tap0 is not up"
ip route show default | grep -q "^default via 10\.0\.2\.2 dev tap0" || fail "default route: $(ip route show default)"
others=$(ip -o link show up | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p' | grep -vx -e lo -e tap0 | tr '\n' ' ')
[ -z "$others" ] || fail "other interfaces are up: $others"
if [ "$1" = run ]; then
    grep -qx "nameserver 10\.0\.2\.2" /etc/resolv.conf || fail "resolv.conf: $(tr '\n' ' ' </etc/resolv.conf)"
    ip -o link show dev tap0 | grep -q " mtu $2 " || fail "tap0 mtu is not $2: $(ip -o link show dev tap0)"
fi
echo OK
EOF
    )
    [[ $MODE == run ]] && EXTRA_OPTS=(--mtu 1400)
    g 30 sh -c "$script" sh "$MODE" 1400
    EXTRA_OPTS=()
    ((G_RC == 0)) && [[ $(<"$G_OUT") == OK ]] || { REASON=$(why); return 1; }
}

case_exit_status() {
    g 30 sh -c 'exit 7'
    ((G_RC == 7)) || { REASON="sandnet run -- sh -c 'exit 7' returned $(why)"; return 1; }
}

case_download() {
    rm -f "$T/dl.bin"
    g 120 curl -fsS --connect-timeout 10 --max-time 100 -o "$T/dl.bin" "http://$WEB/big" || { REASON=$(why); return 1; }
    local got
    got=$(sha256sum <"$T/dl.bin" | cut -d' ' -f1)
    local size
    size=$(stat -c %s "$T/dl.bin")
    rm -f "$T/dl.bin"
    [[ $got == "$BIG_SHA" ]] || { REASON="sha256 mismatch ($size of $BIG_SIZE bytes)"; return 1; }
}

case_download_name() {
    rm -f "$T/dlname.bin"
    g 60 curl -fsS --connect-timeout 10 --max-time 50 -o "$T/dlname.bin" -w '%{remote_ip}' "http://www.example.test/medium" ||
        { REASON=$(why); return 1; }
    local ip got
    ip=$(<"$G_OUT")
    got=$(sha256sum <"$T/dlname.bin" | cut -d' ' -f1)
    rm -f "$T/dlname.bin"
    [[ $ip == "$WEB" ]] || { REASON="connected to '$ip', want $WEB"; return 1; }
    [[ $got == "$MEDIUM_SHA" ]] || { REASON="sha256 mismatch"; return 1; }
}

case_upload() {
    g 120 curl -fsS --connect-timeout 10 --max-time 100 -T "$T/up.bin" "http://$WEB/upload" || { REASON=$(why); return 1; }
    local got
    got=$(<"$G_OUT")
    [[ $got == "$UP_SHA $BIG_SIZE" ]] || { REASON="server saw '$got', want '$UP_SHA $BIG_SIZE'"; return 1; }
}

dig_case() { # dig_case WANT ARGV...
    local want=$1
    shift
    g 30 "$@" || { REASON=$(why); return 1; }
    [[ $(<"$G_OUT") == "$want" ]] || { REASON="answer '$(tr '\n' ' ' <"$G_OUT")', want '$want'; $(why)"; return 1; }
}

case_dns_gateway_udp() {
    dig_case "$WEB" dig @"$GW" www.example.test A +short +notcp +time=2 +tries=2
}

case_dns_gateway_tcp() {
    dig_case "$WEB" dig @"$GW" www.example.test A +short +tcp +time=2 +tries=2
}

case_dns_intercept() {
    # www.example.test: both resolvers know it; only-b.example.test: only the
    # one on 203.0.113.7 does (the upstream answers NXDOMAIN).
    dig_case "$WEB"$'\n'192.0.2.77 sh -c '
        dig @"$1" www.example.test A +short +time=2 +tries=2 &&
        dig @"$1" only-b.example.test A +short +time=2 +tries=2' sh "$DNS_OTHER"
}

case_udp_echo() {
    local long
    long=$(printf '%01300d' 0)
    local want=$'alpha-1\nbravo-22\n'"$long"$'\ndelta-4444'
    # one line per write, 0.3 s apart, so that each is its own datagram
    g 30 sh -c '
        addr=$1; shift
        { for m in "$@"; do printf "%s\n" "$m"; sleep 0.3; done; } |
            socat -t 2 - "UDP:$addr:7"' sh "$WEB" alpha-1 bravo-22 "$long" delta-4444 ||
        { REASON=$(why); return 1; }
    [[ $(<"$G_OUT") == "$want" ]] ||
        { REASON="echoed $(wc -c <"$G_OUT") bytes in $(wc -l <"$G_OUT") lines, want ${#want}+1 in 4: $(head -c 80 "$G_OUT" | tr '\n' ' ')"; return 1; }
}

ping_case() {
    g 30 ping -n -c 3 -i 0.2 -W 2 "$1" || { REASON=$(why); return 1; }
    grep -q '3 packets transmitted, 3 received' "$G_OUT" ||
        { REASON=$(grep 'packets transmitted' "$G_OUT"); return 1; }
}
case_ping_gateway() { ping_case "$GW"; }
case_ping_remote() { ping_case "$WEB"; }

refused_case() { # refused_case URL: connect fails with ECONNREFUSED (curl 7) in < 2 s
    g 30 sh -c '
        s=$(date +%s%N)
        curl -sS --connect-timeout 10 --max-time 15 -o /dev/null "$1"
        rc=$?
        e=$(date +%s%N)
        echo "rc=$rc ms=$(( (e - s) / 1000000 ))"' sh "$1"
    local out rc ms
    out=$(tail -n 1 "$G_OUT")
    [[ $G_RC == 0 && $out =~ ^rc=([0-9]+)\ ms=([0-9]+)$ ]] || { REASON="no result; $(why)"; return 1; }
    rc=${BASH_REMATCH[1]} ms=${BASH_REMATCH[2]}
    ((rc == 7)) || { REASON="curl exit $rc after ${ms} ms, want 7 (refused): $(tail -n 1 "$G_ERR")"; return 1; }
    ((ms < 2000)) || { REASON="refused only after ${ms} ms"; return 1; }
}
case_tcp_refused() { refused_case "http://$WEB:81/"; }
case_hostlo_denied() { refused_case "http://$GW:$HOSTLO_PORT/"; }

case_hostlo_allowed() {
    g 30 curl -fsS --max-time 10 "http://$GW:$HOSTLO_PORT/" || { REASON=$(why); return 1; }
    [[ $(<"$G_OUT") == "$HOSTLO_TOKEN" ]] || { REASON="got '$(head -c 80 "$G_OUT")', want '$HOSTLO_TOKEN'"; return 1; }
}

case_tcp_half_close() {
    g 60 "$PY" "$E2E_DIR/guest.py" halfclose "$WEB" 9000 4000000 || { REASON=$(why); return 1; }
}

case_tcp_concurrent_200() {
    g 120 "$PY" "$E2E_DIR/guest.py" concurrent "$WEB" 80 200 "$TOKEN" || { REASON=$(why); return 1; }
}

lifecycle_case() { # lifecycle_case FLAG: the instance comes up, survives the cases, exits 0 on SIGTERM
    attach_ensure "$1" || { REASON=$ATTACH_ERR; return 1; }
    attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
}
case_attach_lifecycle() { lifecycle_case 0; }
case_attach_lifecycle_hostlo() { lifecycle_case 1; }

# ---------------------------------------------------------------- main

diag "sandnet e2e: mode $MODE, sandnet $SANDNET, namespaces $NS_HOST $NS_INET"
if ! setup; then
    for c in "${SELECTED[@]}"; do fail "$c" "setup failed: $SETUP_ERR"; done
    for f in "$T"/*.log "$T"/*.out; do diag_file setup "$f"; done
    summary
    exit 1
fi

for c in "${SELECTED[@]}"; do
    CURRENT=$c G_N=0 REASON='' HOSTLO=0
    [[ $c == *hostlo-allowed || $c == attach-lifecycle-hostlo ]] && HOSTLO=1
    if [[ $MODE == attach && $c != attach-lifecycle* ]] && ! attach_ensure "$HOSTLO"; then
        fail "$c" "$ATTACH_ERR"
        continue
    fi
    start=$SECONDS
    if "case_${c//-/_}"; then
        pass "$c"
    else
        fail "$c" "${REASON:-failed}"
        for ((k = 1; k <= G_N; k++)); do
            diag_file "$c guest stdout" "$T/$c.$k.out"
            diag_file "$c guest stderr" "$T/$c.$k.err"
        done
        [[ $MODE == attach ]] && diag_file "sandnet attach" "$ATTACH_LOG"
    fi
    CURRENT=
    diag "$c took $((SECONDS - start)) s"
done
CURRENT=

if [[ -n $ATTACH_PID ]]; then # lifecycle not selected: stop quietly
    attach_stop || diag "$ATTACH_STOP_ERR"
fi

summary
((FAILED == 0))
