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
#                                         INET 203.0.113.49/30 --veth-- FAR 203.0.113.50/30
#
#   GUEST  run mode: the namespace `sandnet run` makes (one per case);
#          attach mode: sne2e-guest-PID-a (-b for --allow-host-loopback;
#          -f: IPv6 disabled, the no-ipv6 case),
#          resolver from /etc/netns/<ns>/resolv.conf; -c: attached without
#          --configure, configured by busybox udhcpc (the dhcp-* cases);
#          -d: attached without --configure, with --allow-host-loopback,
#          configured by router advertisements (the slaac* cases); -e:
#          with --deny '*.ads.example' (dns-deny);
#          -g: attached with the published ports (the publish-* cases);
#          -h: with --api-socket and --stats-file (the api-* cases);
#          -i: slirp4netns mode with --pcap (pcap-slirp4netns)
#   HOST   sne2e-host-PID: sandnet runs here; 127.0.0.1:8080 HTTP service
#   INET   sne2e-inet-PID: on lo 192.0.2.10 (HTTP :80, UDP echo :7, TCP
#          sha-after-EOF :9000, TCP sink :9001, nothing on :81), 192.0.2.53
#          (dnsmasq, the upstream; rebind.example.test is 10.0.0.1 there),
#          203.0.113.7 (a second dnsmasq); the one router
#          (ip_forward=1): HOST reaches FAR through it
#   FAR    sne2e-far-PID: 203.0.113.50, nothing listening; two hops from
#          HOST's sockets (the traceroute case); the INET-FAR link has
#          MTU 1280 and IPv6 too: INET 2001:db8:3::1, FAR 2001:db8:3::2
#          (the pmtu case)
#
# IPv6 (nodad everywhere): HOST veth 2001:db8:1::2/64, default route via
# INET 2001:db8:1::1/64; INET lo 2001:db8:2::10 (HTTP :80, UDP echo :7;
# nothing on :9) and 2001:db8:2::53 (the upstream dnsmasq again, which
# answers AAAA www6.example.test = 2001:db8:2::10). The guest has
# fd00:2::15/64 via fd00:2::2 (run, attach --configure).
#
# Cases: guest-config exit-status(run) download download-name upload
# dns-gateway-udp dns-gateway-tcp dns-intercept dns-deny dns-rebind
# dns-tcp-fallback(run) udp-echo udp-big-reply(run)
# pmtu ping-gateway
# ping-remote tcp-refused udp-refused traceroute ping-ttl tcp-half-close tcp-concurrent-200
# attach-no-fd-leak(attach) hostlo-denied hostlo-allowed
# attach-lifecycle(-hostlo)(attach) dhcp-udhcpc(attach) dhcp-renew(attach)
# slaac(attach) slaac-internet(attach) download6 dns-aaaa dns-resolv6(run) dns-upstream6(run) ping6-gateway ping6-remote udp6-echo
# offload(run) offload6(run) no-offload(run)
# udp6-refused traceroute6 upload-drain upload-drain6 drain-linger no-ipv6
# publish-tcp publish-udp publish-real-addr publish-closed lossy lossy6
# api-hostfwd api-bad-input api-stats pcap pcap-limit pcap-usage(run)
# pcap-slirp4netns(attach).
#
# Prints "PASS name" or "FAIL name: reason" per case, then "N passed, N failed";
# exits 0 only if every case passed. Diagnostics go to stderr prefixed "# ".
# --keep leaves the temporary directory (logs, outputs) in place.

set -u
shopt -s nullglob

E2E_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$E2E_DIR/lib.sh"

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
FAR_ADDR=203.0.113.50 # FAR, behind INET: two hops from HOST
FAR_LINK=203.0.113.49 # INET's end of the INET-FAR link
FAR_ADDR6=2001:db8:3::2 # FAR over IPv6 (the pmtu case)
FAR_LINK6=2001:db8:3::1 # INET's end of the INET-FAR link over IPv6
WEB6=2001:db8:2::10    # INET: HTTP :80, UDP echo :7 over IPv6
DNS_UP6=2001:db8:2::53 # INET: the upstream dnsmasq's IPv6 address
HOST_ADDR6=2001:db8:1::2
INET_ADDR6=2001:db8:1::1
NAME6=www6.example.test # AAAA only: www.example.test stays IPv4-only for the IPv4 cases
META_ADDR=169.254.169.254 # INET: a stand-in cloud metadata endpoint (HTTP :80)
PRIV_ADDR=10.99.0.1       # INET: a stand-in host on a private range (HTTP :80)
HOSTIF_PORT=8081          # HOST: HTTP on 0.0.0.0, reachable at HOST's own addresses
CANARY_PORT=7777          # HOST: canary.py on every HOST address (and UDP 127.0.0.1:53, [::1]:53)

NS_HOST=sne2e-host-$$
NS_INET=sne2e-inet-$$
NS_FAR=sne2e-far-$$
NS_GUEST=sne2e-guest-$$ # attach mode: -a (no host loopback), -b (--allow-host-loopback)

BIG_SIZE=$((50 * 1024 * 1024))
LOSS_PCT=1      # the lossy cases: packets dropped on the guest's tap0, each way
LOSS_LIMIT=60   # seconds each of their 50 MB transfers may take
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
summary() {
    ((SUMMARY_DONE)) && return
    SUMMARY_DONE=1
    echo "$PASSED passed, $FAILED failed"
}

# ---------------------------------------------------------------- cases

CASES=(guest-config exit-status download download-name upload
    dns-gateway-udp dns-gateway-tcp dns-intercept dns-deny dns-rebind dns-tcp-fallback udp-echo udp-big-reply pmtu
    ping-gateway ping-remote tcp-refused udp-refused traceroute ping-ttl tcp-half-close tcp-concurrent-200
    offload offload6 no-offload
    download6 dns-aaaa dns-resolv6 dns-upstream6 ping6-gateway ping6-remote udp6-echo udp6-refused traceroute6
    upload-drain upload-drain6 drain-linger no-ipv6 lossy lossy6
    attach-no-fd-leak hostlo-denied attach-lifecycle hostlo-allowed attach-lifecycle-hostlo
    dhcp-udhcpc dhcp-renew slaac slaac-internet
    policy-default policy-allow policy-file policy-reload policy-suffix dns-loopback-stub
    bypass bypass-control
    publish-tcp publish-udp publish-real-addr publish-closed
    api-hostfwd api-bad-input api-stats
    pcap pcap-limit pcap-usage pcap-slirp4netns)
case_applies() { # mode-specific cases
    case $1 in
    exit-status | dns-resolv6 | dns-upstream6 | dns-tcp-fallback) [[ $MODE == run ]] ;;
    udp-big-reply) [[ $MODE == run ]] ;; # needs --mtu 1500 for the guest: a fresh `sandnet run`
    offload | offload6 | no-offload) [[ $MODE == run ]] ;; # the same, and a stats file per run
    policy-allow | policy-file | policy-reload | policy-suffix | dns-loopback-stub | bypass-control) [[ $MODE == run ]] ;; # own flags per run
    attach-lifecycle* | attach-no-fd-leak | dhcp-* | slaac*) [[ $MODE == attach ]] ;;
    no-ipv6) [[ $MODE == attach ]] ;; # see case_no_ipv6: no faithful run-mode variant
    pcap-usage) [[ $MODE == run ]] ;;
    pcap-slirp4netns) [[ $MODE == attach ]] ;;
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

end_netns_pids() { # end every process inside namespace $1
    local pids
    pids=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [[ -n ${pids// /} ]] && end_pids $pids
    return 0
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
        [[ $ns =~ ^sne2e-(host|inet|far|guest)-([0-9]+)(-[abcdefghi])?$ ]] || continue
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
for tool in ip ss nc curl dig socat jq tshark pgrep seq ping traceroute dnsmasq python3 timeout sha256sum head awk sed grep tr cut od sh \
    cat wc stat find tail mktemp mknod chmod install mount unshare setpriv sysctl sleep date readlink rm mkdir rmdir sort dirname nft; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || prereq_fail "missing tools: ${missing[*]} (need iproute2, netcat-openbsd, curl, bind9-dnsutils, socat, jq, iputils-ping, traceroute, dnsmasq-base, python3, coreutils, util-linux, procps, nftables, tshark)"
nc -h 2>&1 | grep -qE '^[[:space:]]+-N[[:space:]]' ||
    prereq_fail "nc has no -N (the upload-drain cases need netcat-openbsd)"
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

G_N=0 G_RC=0 G_OUT='' G_ERR='' HOSTLO=0 EXTRA_OPTS=() NO_UPSTREAM=0
# g SECONDS ARGV...: run ARGV as a client in the guest; status in G_RC.
# run mode: a fresh `sandnet run` per call; attach mode: ip netns exec GUEST.
g() {
    local tmo=$1
    shift
    G_N=$((G_N + 1))
    G_OUT=$T/$CURRENT.$G_N.out G_ERR=$T/$CURRENT.$G_N.err
    if [[ $MODE == run ]]; then
        local opts=(--dns-upstream "$DNS_UP")
        ((NO_UPSTREAM)) && opts=() # the host's resolv.conf (/etc/netns/$NS_HOST)
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

inet_bg() { # inet_bg NS LOG ARGV...: start a server in namespace NS
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
    BG_PIDS+=($!)
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
    # HOST's own resolv.conf (ip netns exec shows it to sandnet as
    # /etc/resolv.conf), for the dns-resolv6 case: an IPv6 upstream only
    if [[ ! -d /etc/netns ]]; then
        mkdir /etc/netns && ETC_NETNS_ROOT=1
    fi
    mkdir -p "/etc/netns/$NS_HOST" && ETC_NETNS_MADE+=("$NS_HOST")
    printf '# sandnet e2e\nnameserver %s\n' "$DNS_UP6" >"/etc/netns/$NS_HOST/resolv.conf" || { SETUP_ERR="HOST resolv.conf"; return 1; }
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
    must "HOST addr6" "${h[@]}" addr add "$HOST_ADDR6/64" dev veth-inet nodad || return 1
    must "INET addr6" "${i[@]}" addr add "$INET_ADDR6/64" dev veth-host nodad || return 1
    must "HOST default route6" "${h[@]}" -6 route add default via "$INET_ADDR6" || return 1
    for a in "$WEB6" "$DNS_UP6"; do
        must "INET $a" "${i[@]}" addr add "$a/128" dev lo nodad || return 1
    done
    local a
    for a in "$WEB" "$DNS_UP" "$DNS_OTHER"; do
        must "INET $a" "${i[@]}" addr add "$a/32" dev lo || return 1
    done
    # FAR, one router (INET) beyond HOST; INET's link to it is made from
    # INET with the peer straight in FAR, again away from the initial namespace
    must "create $NS_FAR" ip netns add "$NS_FAR" || return 1
    NETNS_MADE+=("$NS_FAR")
    local f=(ip -n "$NS_FAR")
    must "FAR lo" "${f[@]}" link set lo up || return 1
    must "veth INET-FAR" "${i[@]}" link add veth-far type veth peer name veth-inet netns "$NS_FAR" || return 1
    must "INET far addr" "${i[@]}" addr add "$FAR_LINK/30" dev veth-far || return 1
    must "FAR addr" "${f[@]}" addr add "$FAR_ADDR/30" dev veth-inet || return 1
    must "INET far veth up" "${i[@]}" link set veth-far up || return 1
    must "FAR veth up" "${f[@]}" link set veth-inet up || return 1
    # the narrow link of the pmtu case: INET answers DF datagrams to FAR
    # bigger than 1280 with fragmentation needed
    must "INET-FAR mtu" "${i[@]}" link set veth-far mtu 1280 || return 1
    must "FAR-INET mtu" "${f[@]}" link set veth-inet mtu 1280 || return 1
    must "INET far addr6" "${i[@]}" addr add "$FAR_LINK6/64" dev veth-far nodad || return 1
    must "FAR addr6" "${f[@]}" addr add "$FAR_ADDR6/64" dev veth-inet nodad || return 1
    must "FAR default route6" "${f[@]}" -6 route add default via "$FAR_LINK6" || return 1
    must "INET forwarding6" ip netns exec "$NS_INET" sysctl -q -w net.ipv6.conf.all.forwarding=1 || return 1
    must "FAR default route" "${f[@]}" route add default via "$FAR_LINK" || return 1
    must "INET forwarding" ip netns exec "$NS_INET" sysctl -q -w net.ipv4.ip_forward=1 || return 1
    must "ping_group_range" ip netns exec "$NS_HOST" \
        sh -c 'echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range' || return 1

    must "random files" sh -c "head -c $BIG_SIZE /dev/urandom >'$T/www/big' &&
        head -c $MEDIUM_SIZE /dev/urandom >'$T/www/medium' &&
        head -c $BIG_SIZE /dev/urandom >'$T/up.bin'" || return 1
    # the lossy cases: LOSS_PCT % of tap0's packets dropped each way in the
    # guest; the first two lines make loading it again replace the table
    printf '%s\n' "table inet sne2e_loss" "delete table inet sne2e_loss" "table inet sne2e_loss {" \
        "  chain in { type filter hook input priority 0; meta iifname \"tap0\" numgen random mod 100 < $LOSS_PCT drop; }" \
        "  chain out { type filter hook output priority 0; meta oifname \"tap0\" numgen random mod 100 < $LOSS_PCT drop; }" \
        "}" >"$T/loss.nft" || { SETUP_ERR="loss.nft"; return 1; }
    BIG_SHA=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
    MEDIUM_SHA=$(sha256sum <"$T/www/medium" | cut -d' ' -f1)
    UP_SHA=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)

    inet_bg "$NS_INET" "$T/inet-servers.log" "$PY" "$E2E_DIR/servers.py" inet \
        --addr "$WEB" --addr6 "$WEB6" --root "$T/www" --token "$TOKEN" --ready "$T/inet.ready" \
        --sink "$T/sink.log"
    inet_bg "$NS_HOST" "$T/hostlo-server.log" "$PY" "$E2E_DIR/servers.py" hostlo \
        --addr 127.0.0.1 --port "$HOSTLO_PORT" --token "$HOSTLO_TOKEN" --ready "$T/hostlo.ready"
    local dm=(dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts
        --bind-interfaces --port=53 --user=root --group=root --log-queries
        --local=/example.test/ "--address=/www.example.test/$WEB")
    # the upstream, and a second resolver that knows one more name, so that an
    # answer for only-b.example.test proves the query reached 203.0.113.7
    inet_bg "$NS_INET" "$T/dnsmasq-up.out" "${dm[@]}" --listen-address="$DNS_UP" \
        --listen-address="$DNS_UP6" "--host-record=$NAME6,$WEB6" \
        --address=/rebind.example.test/10.0.0.1 \
        --pid-file="$T/dnsmasq-up.pid" --log-facility="$T/dnsmasq-up.log"
    inet_bg "$NS_INET" "$T/dnsmasq-other.out" "${dm[@]}" --listen-address="$DNS_OTHER" \
        --pid-file="$T/dnsmasq-other.pid" --log-facility="$T/dnsmasq-other.log" \
        --address=/only-b.example.test/192.0.2.77

    # policy stand-ins: a metadata endpoint and a private-range host behind
    # INET, a service on all of HOST's addresses, and a canary that logs
    # anything reaching HOST's own services (the bypass cases)
    for a in "$META_ADDR" "$PRIV_ADDR"; do
        must "INET $a" "${i[@]}" addr add "$a/32" dev lo || return 1
    done
    inet_bg "$NS_INET" "$T/meta-server.log" "$PY" "$E2E_DIR/servers.py" hostlo \
        --addr "$META_ADDR" --port 80 --token "meta-$TOKEN" --ready "$T/meta.ready"
    inet_bg "$NS_INET" "$T/priv-server.log" "$PY" "$E2E_DIR/servers.py" hostlo \
        --addr "$PRIV_ADDR" --port 80 --token "priv-$TOKEN" --ready "$T/priv.ready"
    inet_bg "$NS_HOST" "$T/hostif-server.log" "$PY" "$E2E_DIR/servers.py" hostlo \
        --addr 0.0.0.0 --port "$HOSTIF_PORT" --token "hostif-$TOKEN" --ready "$T/hostif.ready"
    : >"$T/canary.log"
    inet_bg "$NS_HOST" "$T/canary.out" "$PY" "$E2E_DIR/canary.py" --port "$CANARY_PORT" \
        --log "$T/canary.log" --ready "$T/canary.ready"

    wait_for 100 "INET servers" test -e "$T/inet.ready" || return 1
    wait_for 100 "policy stand-ins" test -e "$T/meta.ready" -a -e "$T/priv.ready" -a \
        -e "$T/hostif.ready" -a -e "$T/canary.ready" || return 1
    wait_for 100 "HOST loopback server" test -e "$T/hostlo.ready" || return 1
    wait_for 50 "dnsmasq on $DNS_UP" dig_is "$NS_INET" "$DNS_UP" www.example.test "$WEB" || return 1
    must "dnsmasq rebind record" dig_is "$NS_INET" "$DNS_UP" rebind.example.test 10.0.0.1 || return 1
    wait_for 50 "dnsmasq on $DNS_OTHER" dig_is "$NS_INET" "$DNS_OTHER" only-b.example.test 192.0.2.77 || return 1

    # The topology itself, checked from HOST without sandnet.
    wait_for 50 "HOST->INET http" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$WEB/n/0" || return 1
    must "HOST->INET dns" dig_is "$NS_HOST" "$DNS_UP" www.example.test "$WEB" || return 1
    must "HOST->INET ping" ip netns exec "$NS_HOST" ping -n -c 1 -W 2 "$WEB" || return 1
    must "HOST->FAR ping (through INET)" ip netns exec "$NS_HOST" ping -n -c 1 -W 2 "$FAR_ADDR" || return 1
    wait_for 50 "HOST->FAR ping over IPv6" ip netns exec "$NS_HOST" ping -6 -n -c 1 -W 1 "$FAR_ADDR6" || return 1
    must "HOST loopback service" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$HOSTLO_PORT/" || return 1
    must "HOST->metadata stand-in" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$META_ADDR/" || return 1
    must "HOST->private stand-in" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$PRIV_ADDR/" || return 1
    must "HOST interface service" ip netns exec "$NS_HOST" curl -fsS --max-time 2 -o /dev/null "http://$HOST_ADDR:$HOSTIF_PORT/" || return 1
    wait_for 50 "HOST->INET http over IPv6" ip netns exec "$NS_HOST" curl -g -fsS --max-time 2 -o /dev/null "http://[$WEB6]/n/0" || return 1
    must "HOST->INET AAAA over IPv6" test "$(ip netns exec "$NS_HOST" dig @"$DNS_UP6" "$NAME6" AAAA +short +time=1 +tries=2)" == "$WEB6" || return 1
    return 0
}

# ---------------------------------------------------------------- attach mode

tap_ready() { # tap0 in $1 is up, addressed and routed
    ip -n "$1" link show dev tap0 2>/dev/null | grep -q '[<,]UP[,>]' &&
        ip -n "$1" -4 -o addr show dev tap0 2>/dev/null | grep -q " 10\.0\.2\.15/24 " &&
        ip -n "$1" route show default 2>/dev/null | grep -q "via $GW dev tap0"
}

tap_exists() { # tap0 exists in $1 (a guest that configures itself)
    ip -n "$1" link show dev tap0 >/dev/null 2>&1
}

# attach_start FLAG: start `sandnet attach` for a fresh guest; FLAG 0: plain,
# 1: --allow-host-loopback, 2: without --configure, --mtu $DHCP_MTU (the
# guest configures itself with DHCP; its resolv.conf starts empty), 3:
# without --configure, with --allow-host-loopback (the guest configures
# itself from router advertisements: the slaac* cases), 4: plain with
# --deny '*.ads.example' (dns-deny), 5: as 0 in a namespace with IPv6
# disabled (the no-ipv6 case), 6: plain with the published ports
# (PUB_OPTS, the publish-* cases), 7: plain with the control socket and
# the stats file (API_OPTS, the api-* cases). ATTACH_EXTRA_OPTS are added
# to sandnet's options.
ATTACH_EXTRA_OPTS=()
attach_start() {
    local flag=$1 sfx=a ready=tap_ready
    ((flag == 1)) && sfx=b
    ((flag == 2)) && sfx=c ready=tap_exists
    ((flag == 3)) && sfx=d ready=tap_exists
    ((flag == 4)) && sfx=e
    ((flag == 5)) && sfx=f
    ((flag == 6)) && sfx=g
    ((flag == 7)) && sfx=h
    ATTACH_NS=$NS_GUEST-$sfx
    ATTACH_LOG=$T/attach-$sfx.err
    # a flavour started again (after another ran) gets a fresh namespace
    [[ -e /run/netns/$ATTACH_NS ]] && end_netns_pids "$ATTACH_NS" && ip netns del "$ATTACH_NS"
    if ! ip netns add "$ATTACH_NS" 2>"$T/netns-$sfx.err"; then
        ATTACH_ERR="cannot create $ATTACH_NS: $(tail -n 1 "$T/netns-$sfx.err")"
        return 1
    fi
    NETNS_MADE+=("$ATTACH_NS")
    ip -n "$ATTACH_NS" link set lo up
    if ((flag == 5)) && ! ip netns exec "$ATTACH_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 2>"$T/netns-$sfx.err"; then
        ATTACH_ERR="cannot disable IPv6 in $ATTACH_NS: $(tail -n 1 "$T/netns-$sfx.err")"
        return 1
    fi
    if [[ ! -d /etc/netns ]]; then
        mkdir /etc/netns && ETC_NETNS_ROOT=1
    fi
    mkdir -p "/etc/netns/$ATTACH_NS" && ETC_NETNS_MADE+=("$ATTACH_NS")
    echo "nameserver $GW" >"/etc/netns/$ATTACH_NS/resolv.conf"
    ((flag == 2 || flag == 3)) && : >"/etc/netns/$ATTACH_NS/resolv.conf"

    local opts=(--netns "/run/netns/$ATTACH_NS" --configure --dns-upstream "$DNS_UP")
    ((flag == 1)) && opts+=(--allow-host-loopback)
    ((flag == 4)) && opts+=(--deny '*.ads.example')
    ((flag == 2)) && opts=(--netns "/run/netns/$ATTACH_NS" --mtu "$DHCP_MTU" --dns-upstream "$DNS_UP")
    ((flag == 3)) && opts=(--netns "/run/netns/$ATTACH_NS" --allow-host-loopback --dns-upstream "$DNS_UP")
    ((flag == 6)) && opts+=("${PUB_OPTS[@]}")
    ((flag == 7)) && opts+=("${API_OPTS[@]}")
    opts+=(${ATTACH_EXTRA_OPTS[@]+"${ATTACH_EXTRA_OPTS[@]}"})
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
        "$ready" "$ATTACH_NS" && return 0
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

# dns_status SERVER NAME...: dig's status for each NAME at SERVER, over UDP
# then over TCP, one line each, as "NAME udp|tcp STATUS"
dns_status() {
    g 60 sh -c '
        s=$1; shift
        for n in "$@"; do
            for t in udp tcp; do
                o=notcp; [ $t = tcp ] && o=tcp
                printf "%s %s %s\n" "$n" $t "$(dig @"$s" "$n" A +$o +time=2 +tries=1 |
                    sed -n "s/.*status: \([A-Z]*\).*/\1/p")"
            done
        done' sh "$@"
}

# dns-deny: a name a --deny rule covers (*.ads.example) is NXDOMAIN, never
# REFUSED, over UDP and TCP, at the gateway and at another address's port
# 53, and never reaches a resolver (both dnsmasqs, which know no such zone,
# would say REFUSED); a name beside it still resolves.
case_dns_deny() {
    local want='' n t s
    "$SANDNET" --help 2>&1 | grep -q -- '--deny' || { REASON="sandnet has no --deny"; return 1; }
    [[ $MODE == run ]] && EXTRA_OPTS=(--deny '*.ads.example')
    dns_status "$GW" tracker.ads.example ads.example
    local rc=$?
    cp "$G_OUT" "$T/dns-deny.gw"
    ((rc == 0)) && dns_status "$DNS_OTHER" tracker.ads.example www.example.test
    rc=$((rc | $?))
    EXTRA_OPTS=()
    ((rc == 0)) || { REASON=$(why); return 1; }
    for n in tracker.ads.example ads.example; do
        for t in udp tcp; do want+="$n $t NXDOMAIN"$'\n'; done
    done
    [[ $(<"$T/dns-deny.gw")$'\n' == "$want" ]] ||
        { REASON="at the gateway: $(tr '\n' ';' <"$T/dns-deny.gw")"; return 1; }
    want=$'tracker.ads.example udp NXDOMAIN\ntracker.ads.example tcp NXDOMAIN\nwww.example.test udp NOERROR\nwww.example.test tcp NOERROR'
    [[ $(<"$G_OUT") == "$want" ]] || { REASON="at $DNS_OTHER: $(tr '\n' ';' <"$G_OUT")"; return 1; }
    for s in up other; do
        ! grep -q 'ads\.example' "$T/dnsmasq-$s.log" ||
            { REASON="a denied name reached dnsmasq-$s: $(grep -m 1 'ads\.example' "$T/dnsmasq-$s.log")"; return 1; }
    done
}

# dns-rebind: the upstream answers a public name with 10.0.0.1: the guest
# gets NXDOMAIN instead (rebind protection, on by default), UDP and TCP.
case_dns_rebind() {
    dns_status "$GW" rebind.example.test www.example.test || { REASON=$(why); return 1; }
    local want=$'rebind.example.test udp NXDOMAIN\nrebind.example.test tcp NXDOMAIN\nwww.example.test udp NOERROR\nwww.example.test tcp NOERROR'
    [[ $(<"$G_OUT") == "$want" ]] || { REASON="$(tr '\n' ';' <"$G_OUT")"; return 1; }
}

# dns-tcp-fallback: the first --dns-upstream is an INET address with nothing
# on port 53 (TCP refused, UDP port unreachable): queries over TCP, like
# those over UDP, go on to the second.
case_dns_tcp_fallback() {
    NO_UPSTREAM=1 EXTRA_OPTS=(--dns-upstream "$INET_ADDR" --dns-upstream "$DNS_UP")
    dig_case "$WEB"$'\n'"$WEB" sh -c '
        dig @"$1" www.example.test A +short +tcp +time=3 +tries=1 &&
        dig @"$1" www.example.test A +short +notcp +time=3 +tries=1' sh "$GW"
    local rc=$?
    NO_UPSTREAM=0 EXTRA_OPTS=()
    return $rc
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

# udp-big-reply: the guest (MTU 1500) sends a small datagram to INET's
# port 9009, which answers with 9000 bytes (servers.py BIG_REPLY); sandnet
# gets it whole from the host socket and fragments it to the guest, whose
# kernel reassembles it. IPv4 and IPv6.
case_udp_big_reply() {
    local script
    script=$(
        cat <<'EOF'
import socket, sys
want = bytes((i * 7 + (i >> 8)) & 255 for i in range(9000))
for addr in sys.argv[1:]:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    res = "no reply"
    for _ in range(3):
        s.sendto(b"big?", (addr, 9009))
        try:
            d = s.recv(65535)
        except socket.timeout:
            continue
        res = "OK" if d == want else "got %d bytes, not the pattern" % len(d)
        break
    print(addr, res)
EOF
    )
    EXTRA_OPTS=(--mtu 1500)
    g 30 sh -c 'ip -o link show dev tap0 | grep -o "mtu [0-9]*"; exec "$@"' sh \
        "$PY" -c "$script" "$WEB" "$WEB6"
    EXTRA_OPTS=()
    ((G_RC == 0)) || { REASON=$(why); return 1; }
    local want="mtu 1500"$'\n'"$WEB OK"$'\n'"$WEB6 OK"
    [[ $(<"$G_OUT") == "$want" ]] || { REASON="$(tr '\n' '|' <"$G_OUT")"; return 1; }
}

# pmtu: a guest UDP socket with IP_PMTUDISC_DO sends 1400 bytes to FAR.
# HOST's socket sends it with DF (the kernel default), INET cannot forward
# it on the 1280 link and answers fragmentation needed (MTU 1280) to HOST;
# sandnet reads it from IP_RECVERR and sends the guest the same error
# about its DF datagram, so the guest's kernel learns the path MTU: the
# next send of 1400 bytes fails with EMSGSIZE and IP_MTU reads 1280. The
# same over IPv6 (packet too big, IPV6_RECVERR, IPV6_MTU). Only the first
# datagram can teach it: HOST learns the path MTU too and fragments later
# ones itself. Before that, `ping -M do -s 1400` to FAR shows the ICMP
# relay's part (the ping socket's IP_RECVERR): "Frag needed ... mtu =
# 1280"; the IPv4 route caches of HOST and of the attached guest are then
# flushed, so the UDP socket starts from scratch.
case_pmtu() {
    local script
    script=$(
        cat <<'EOF'
import errno, socket, sys, time
for addr in sys.argv[1:]:
    if ":" in addr:  # IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, IPV6_MTU
        fam, lvl, disc, do, mtu = socket.AF_INET6, socket.IPPROTO_IPV6, 23, 2, 24
    else:  # IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU
        fam, lvl, disc, do, mtu = socket.AF_INET, socket.IPPROTO_IP, 10, 2, 14
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(lvl, disc, do)
    s.connect((addr, 33600))
    res = "no error"
    for _ in range(6):
        try:
            s.send(b"p" * 1400)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
            if e.errno == errno.EMSGSIZE:
                break
        time.sleep(0.5)
    print("%s send %s mtu %d" % (addr, res, s.getsockopt(lvl, mtu)))
EOF
    )
    g 30 ping -n -M do -s 1400 -c 2 -i 0.5 -W 1 "$FAR_ADDR"
    grep -qE 'mtu ?= ?1280' "$G_OUT" || { REASON="ping -M do: $(why)"; return 1; }
    ip netns exec "$NS_HOST" ip -4 route flush cache
    [[ $MODE == attach ]] && ip netns exec "$ATTACH_NS" ip -4 route flush cache
    g 30 "$PY" -c "$script" "$FAR_ADDR" "$FAR_ADDR6" || { REASON=$(why); return 1; }
    local want="$FAR_ADDR send EMSGSIZE mtu 1280"$'\n'"$FAR_ADDR6 send EMSGSIZE mtu 1280"
    [[ $(<"$G_OUT") == "$want" ]] || { REASON="$(tr '\n' '|' <"$G_OUT")"; return 1; }
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

# udp-refused: a connected UDP socket in the guest sends to 192.0.2.10:9,
# where nothing listens in INET. INET answers ICMP port unreachable to HOST;
# sandnet reads it from the session socket's error queue (IP_RECVERR) and
# sends the guest the same error from 192.0.2.10, quoting the guest's
# datagram, so the guest's kernel fails the socket's recv() with
# ECONNREFUSED. Within 2 s, or it failed.
case_udp_refused() {
    g 30 "$PY" "$E2E_DIR/guest.py" udp-refused "$WEB" 9 || { REASON=$(why); return 1; }
    grep -q '^refused after' "$G_OUT" || { REASON=$(why); return 1; }
}

# traceroute: UDP probes to FAR (203.0.113.50), two routers away from the
# guest: sandnet's gateway, then INET. traceroute opens one socket (one
# source port, so one sandnet session) per probe, with TTL 1, 2, 3, ...
# (-p 33434: plain -U would use port 53, which sandnet's DNS forwarder
# intercepts). The TTL arithmetic:
#   TTL 1  the gateway is the first hop: sandnet answers ICMP time exceeded
#          from 10.0.2.2 itself and sends nothing on;
#   TTL 2  sandnet sends it from HOST with IP_TTL = 2 - 1 = 1; INET, the
#          first router on HOST's side, cannot forward it and answers time
#          exceeded from 198.51.100.1 to HOST; sandnet reads that from the
#          session socket's error queue and passes it on from 198.51.100.1;
#   TTL 3  leaves HOST with TTL 2, INET forwards it with TTL 1, FAR gets it
#          and answers port unreachable from 203.0.113.50: the destination,
#          traceroute stops there.
# Wanted: exactly hops 1 10.0.2.2, 2 198.51.100.1, 3 203.0.113.50; no '*'.
case_traceroute() {
    g 60 traceroute -U -p 33434 -n -q 1 -w 2 -m 5 "$FAR_ADDR" || { REASON=$(why); return 1; }
    local hops want="1 $GW;2 $INET_ADDR;3 $FAR_ADDR;"
    hops=$(awk '$1 ~ /^[0-9]+$/ { printf "%s %s;", $1, $2 }' "$G_OUT")
    [[ $hops == "$want" ]] || { REASON="hops '$hops', want '$want'"; return 1; }
    ! grep -q '\*' "$G_OUT" || { REASON="a hop did not answer: $(tr '\n' '|' <"$G_OUT")"; return 1; }
}

# ping-ttl: the same hops for ICMP echo (the ICMP relay's ping sockets get
# the guest's TTL minus one, and their IP_RECVERR errors go to the guest):
# ping -t 1 expires at the gateway, -t 2 at INET, -t 3 reaches FAR; then
# traceroute -I (one echo identifier, a sequence number per probe) shows
# the same three hops.
case_ping_ttl() {
    g 60 sh -c '
        for t in 1 2 3; do
            echo "ttl $t: $(ping -n -c 1 -t $t -W 2 "$1" | grep -E "^(From|[0-9]+ bytes from)" | head -n 1)"
        done
        traceroute -I -n -q 1 -w 2 -m 5 "$1"' sh "$FAR_ADDR" || { REASON=$(why); return 1; }
    local want
    want="ttl 1: From $GW icmp_seq=1 Time to live exceeded"
    grep -qxF "$want" "$G_OUT" || { REASON="want '$want': $(tr '\n' '|' <"$G_OUT")"; return 1; }
    want="ttl 2: From $INET_ADDR icmp_seq=1 Time to live exceeded"
    grep -qxF "$want" "$G_OUT" || { REASON="want '$want': $(tr '\n' '|' <"$G_OUT")"; return 1; }
    grep -qE "^ttl 3: [0-9]+ bytes from $FAR_ADDR: icmp_seq=1 ttl=" "$G_OUT" ||
        { REASON="no echo reply with TTL 3: $(tr '\n' '|' <"$G_OUT")"; return 1; }
    local hops want_hops="1 $GW;2 $INET_ADDR;3 $FAR_ADDR;"
    hops=$(awk '$1 ~ /^[0-9]+$/ { printf "%s %s;", $1, $2 }' "$G_OUT")
    [[ $hops == "$want_hops" ]] || { REASON="traceroute -I hops '$hops', want '$want_hops'"; return 1; }
}

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

# sn_fds PID: count the open fds of process PID, sorted by what they are:
#   FD_ALL	every fd
#   FD_SESS	connectionless sessions, which end only after cfg.udp_idle_ms
#		(60 s) of silence: UDP sockets connect()ed to a port other
#		than 53 (the UDP relay's) and ping sockets (the ICMP relay's)
#   FD_CMP	the rest (TCP, DNS query sockets, tun, signalfd, ...): what
#		must come back to its idle value once traffic has ended
#   FD_SOCK	sockets among FD_CMP other than TCP listeners; a TCP socket
#		whose connection is over but whose fd was never closed is in
#		no /proc/net table, so it is told apart only here
sn_fds() {
    local pid=$1 f sl rem st inode t
    local -A sess=() lst=()
    # /proc/PID/net/*: sl local rem st queues timers retrnsmt uid timeout inode ...
    for f in "/proc/$pid/net/udp" "/proc/$pid/net/udp6"; do
        while read -r sl _ rem _ _ _ _ _ _ inode _; do
            [[ $sl == sl || ${rem##*:} == 0000 || ${rem##*:} == 0035 ]] && continue
            sess[$inode]=1
        done <"$f"
    done
    for f in "/proc/$pid/net/icmp" "/proc/$pid/net/icmp6"; do
        while read -r sl _ _ _ _ _ _ _ _ inode _; do
            [[ $sl == sl ]] || sess[$inode]=1
        done <"$f"
    done
    for f in "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6"; do
        while read -r sl _ _ st _ _ _ _ _ inode _; do
            [[ $sl != sl && $st == 0A ]] && lst[$inode]=1
        done <"$f"
    done
    # the engine's netlink socket (the host's addresses, core/hostaddr.c)
    # lives as long as the engine: counted with the listeners
    while read -r sk _ _ _ _ _ _ _ _ inode _; do
        [[ $sk == sk ]] || lst[$inode]=1
    done <"/proc/$pid/net/netlink"
    FD_ALL=0 FD_SESS=0 FD_CMP=0 FD_SOCK=0
    while read -r t; do
        FD_ALL=$((FD_ALL + 1))
        if [[ $t =~ ^socket:\[([0-9]+)\]$ && -n ${sess[${BASH_REMATCH[1]}]:-} ]]; then
            FD_SESS=$((FD_SESS + 1))
        else
            FD_CMP=$((FD_CMP + 1))
            [[ $t =~ ^socket:\[([0-9]+)\]$ && -z ${lst[${BASH_REMATCH[1]}]:-} ]] &&
                FD_SOCK=$((FD_SOCK + 1))
        fi
    done < <(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null)
}

sn_close_wait() { # sn_close_wait PID: the TCP sockets of PID in CLOSE_WAIT (ss lines)
    local out
    # ss failing must not look like "none": say so, which fails the check
    out=$(ip netns exec "$NS_HOST" ss -tanpH state close-wait 2>&1) || { echo "ss failed: $out"; return; }
    grep -F "pid=$1," <<<"$out" || true
}

# attach-no-fd-leak: after 200 concurrent connections, UDP and DNS (UDP and
# TCP, gateway and intercepted), every fd of `sandnet attach` but its UDP
# relay and ping sessions must be closed again, and none of its sockets
# left in CLOSE_WAIT. UDP and ping sessions only end after 60 s idle
# (cfg.udp_idle_ms), longer than this case should wait, and the earlier
# udp-echo and ping-remote cases leave some that may expire at any moment,
# so they are left out of the comparison (sn_fds FD_SESS) and only bounded:
# no more than before plus the ones this case opens. DNS query sockets
# (connected to port 53) close on the answer and are compared.
case_attach_no_fd_leak() {
    local pid=$ATTACH_PID exe want idle idle_all idle_sess n cw ok=0 nudp=5 i sampler peak
    exe=$(readlink -f "/proc/$pid/exe" 2>/dev/null)
    [[ -n $pid && $exe == "$(readlink -f -- "$SANDNET")" ]] ||
        { REASON="PID '$pid' is not the sandnet attach process (exe '$exe')"; return 1; }
    # idle: nothing left over from the earlier cases (tcp-concurrent-200
    # just before): no socket but sessions and listeners (bounded wait)
    for ((n = 100; n > 0; n--)); do
        sn_fds "$pid"
        ((FD_SOCK == 0)) && break
        sleep 0.1
    done
    ((FD_SOCK == 0)) || { REASON="idle: $FD_SOCK sockets (other than UDP/ping sessions and listeners) still open 10 s after the earlier cases"; return 1; }
    idle=$FD_CMP idle_all=$FD_ALL idle_sess=$FD_SESS

    # the peak, for the record (shows the load reached the process)
    (
        m=0
        while kill -0 "$pid" 2>/dev/null; do
            c=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
            ((c > m)) && m=$c && echo "$m" >"$T/$CURRENT.peak"
            sleep 0.05
        done
    ) &
    sampler=$!
    g 150 sh -c '
        d=$1 py=$2 gp=$3 web=$4 tok=$5 other=$6 nudp=$7
        "$py" "$gp" concurrent "$web" 80 200 "$tok" >"$d.conc" 2>&1 &
        c=$!
        i=0 u=
        while [ $i -lt "$nudp" ]; do # at once, one session each (own source port)
            i=$((i + 1))
            echo "udp-$i" | socat -t 2 - "UDP:$web:7" >"$d.udp$i" 2>&1 &
            u="$u $!"
        done
        for i in 1 2 3; do
            dig @10.0.2.2 www.example.test A +short +notcp +time=2 +tries=2
            dig @10.0.2.2 www.example.test A +short +tcp +time=2 +tries=2
            dig @"$other" only-b.example.test A +short +time=2 +tries=2
        done >"$d.dns" 2>&1 &
        n=$!
        rc=0
        wait $c || { echo "concurrent: $(head -n 1 "$d.conc")"; rc=1; }
        for p in $u; do wait "$p" || rc=1; done
        i=0
        while [ $i -lt "$nudp" ]; do i=$((i + 1)); cat "$d.udp$i"; done >"$d.udp"
        wait $n || { echo "dig: $(tail -n 1 "$d.dns")"; rc=1; }
        exit $rc' sh "$T/$CURRENT" "$PY" "$E2E_DIR/guest.py" "$WEB" "$TOKEN" "$DNS_OTHER" "$nudp" ||
        { REASON="traffic failed: $(why)"; end_pids "$sampler"; return 1; }
    end_pids "$sampler"
    peak=$(cat "$T/$CURRENT.peak" 2>/dev/null)
    want=$(for ((i = 1; i <= nudp; i++)); do echo "udp-$i"; done)
    [[ $(<"$T/$CURRENT.udp") == "$want" ]] ||
        { REASON="UDP echo: '$(tr '\n' ' ' <"$T/$CURRENT.udp")', want '$(tr '\n' ' ' <<<"$want")'"; return 1; }
    want=$(for i in 1 2 3; do printf '%s\n%s\n%s\n' "$WEB" "$WEB" 192.0.2.77; done)
    [[ $(<"$T/$CURRENT.dns") == "$want" ]] ||
        { REASON="DNS answers: '$(tr '\n' ' ' <"$T/$CURRENT.dns")'"; return 1; }

    # every flow has ended on the guest's side: within 10 s the fds must be
    # back to idle and nothing in CLOSE_WAIT
    for ((n = 100; n > 0; n--)); do
        sn_fds "$pid"
        cw=$(sn_close_wait "$pid")
        if ((FD_CMP == idle)) && [[ -z $cw ]]; then
            ok=1
            break
        fi
        sleep 0.1
    done
    diag "sandnet attach fds: idle $idle_all ($idle compared, $idle_sess sessions), sampled peak ${peak:-?}, after $FD_ALL ($FD_CMP compared, $FD_SESS sessions)"
    ((ok)) || {
        REASON="10 s after the traffic: $FD_CMP fds (of $FD_ALL; $FD_SOCK sockets) where $idle were open when idle"
        [[ -n $cw ]] && REASON+="; in CLOSE_WAIT: $(head -n 3 <<<"$cw" | tr -s ' ' | tr '\n' ' ')"
        return 1
    }
    ((FD_SESS <= idle_sess + nudp)) ||
        { REASON="$FD_SESS UDP/ping session sockets, at most $idle_sess + $nudp expected"; return 1; }
}

# ---- dhcp-*: a guest attached without --configure configures itself with
# busybox udhcpc and Debian's default script (/etc/udhcpc/default.script:
# address, mask, broadcast, MTU, default route, resolv.conf). The client
# runs only inside the guest namespace (ip netns exec, which also gives it a
# private mount namespace where /etc/resolv.conf is the namespace's own
# /etc/netns file), always under `timeout`, with its pid file in $T; the
# cleanup ends whatever is left in the namespace or carries SNE2E_TAG.

DHCP_MTU=1400
UDHCPC_SCRIPT=/etc/udhcpc/default.script
# sh -c prologue: resolvconf, if the machine has it, would write the
# machine's resolver configuration; hide it in this mount namespace so the
# default script writes /etc/resolv.conf (the namespace's) instead.
UDHCPC_PRE='if [ -e /sbin/resolvconf ]; then mount --bind /dev/null /sbin/resolvconf || exit 1; fi'

dhcp_prereq() {
    command -v udhcpc >/dev/null 2>&1 && [[ -x $UDHCPC_SCRIPT ]] ||
        { REASON="busybox udhcpc with $UDHCPC_SCRIPT not installed (Debian package udhcpc)"; return 1; }
}

case_dhcp_udhcpc() {
    dhcp_prereq || return 1
    # lease in the foreground, then quit (-q); at most 5 discovers, 2 s apart
    g 40 sh -c "$UDHCPC_PRE"'
        exec udhcpc -f -q -n -t 5 -T 2 -i tap0 -p "$1" -s "$2"' sh "$T/udhcpc.pid" "$UDHCPC_SCRIPT" ||
        { REASON="udhcpc: $(why)"; return 1; }
    g 20 sh -c '
        fail() { echo "$*"; exit 1; }
        ip -4 -o addr show dev tap0 | grep -q " 10\.0\.2\.15/24 brd 10\.0\.2\.255 " ||
            fail "tap0 lacks 10.0.2.15/24 brd 10.0.2.255: $(ip -4 -o addr show dev tap0 2>&1)"
        ip route show default | grep -q "^default via 10\.0\.2\.2 dev tap0" ||
            fail "default route: $(ip route show default)"
        ip -o link show dev tap0 | grep -q " mtu $1 " || fail "tap0 mtu is not $1: $(ip -o link show dev tap0)"
        grep -qx "nameserver 10\.0\.2\.2" /etc/resolv.conf || fail "resolv.conf: $(tr "\n" " " </etc/resolv.conf)"
        echo OK' sh "$DHCP_MTU"
    ((G_RC == 0)) && [[ $(<"$G_OUT") == OK ]] || { REASON=$(why); return 1; }

    # the lease is enough to reach the stand-in internet by name
    rm -f "$T/dhcp.bin"
    g 60 curl -fsS --connect-timeout 10 --max-time 50 -o "$T/dhcp.bin" "http://www.example.test/medium" ||
        { REASON="curl: $(why)"; return 1; }
    local got
    got=$(sha256sum <"$T/dhcp.bin" | cut -d' ' -f1)
    rm -f "$T/dhcp.bin"
    [[ $got == "$MEDIUM_SHA" ]] || { REASON="sha256 mismatch"; return 1; }
}

# dhcp-renew: udhcpc with the broadcast flag (-B) gets a lease, then SIGUSR1
# makes it renew (REQUEST unicast to the server, ciaddr set) and the renewal
# is ACKed; then it is stopped.
case_dhcp_renew() {
    dhcp_prereq || return 1
    g 60 sh -c "$UDHCPC_PRE"'
        log=$1.log
        : >"$log"
        udhcpc -f -B -t 5 -T 2 -i tap0 -p "$1" -s "$2" >>"$log" 2>&1 &
        pid=$!
        leases() { grep -c "lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2" "$log" || :; }
        wait_leases() { # wait_leases N: up to 15 s for N leases in the log
            n=150
            while [ "$(leases)" -lt "$1" ]; do
                n=$((n - 1))
                [ $n -gt 0 ] || { kill $pid; echo "$(leases) leases, want $1: $(tail -n 3 "$log" | tr "\n" " ")"; exit 1; }
                sleep 0.1
            done
        }
        wait_leases 1
        kill -USR1 $pid
        wait_leases 2
        ip -4 -o addr show dev tap0 | grep -q " 10\.0\.2\.15/24 " || { kill $pid; echo "address lost"; exit 1; }
        kill $pid
        wait $pid
        grep -q "sending renew to server 10\.0\.2\.2" "$log" || { echo "no unicast renew: $(tr "\n" " " <"$log")"; exit 1; }
        echo OK' sh "$T/udhcpc-renew.pid" "$UDHCPC_SCRIPT"
    ((G_RC == 0)) && [[ $(tail -n 1 "$G_OUT") == OK ]] || { REASON=$(why); return 1; }
}

# ---- slaac: a guest attached without --configure (and with
# --allow-host-loopback) configures IPv6 from router advertisements alone:
# accept_ra=2 and autoconf=1 on tap0, link up; within 15 s it must have an
# address in fd00:2::/64 (DAD done) and a default route via the gateway's
# link-local address. A router solicitation from a raw ICMPv6 socket
# (guest.py ra) must get an RA with hop limit 255, M=0, O=1, the link MTU,
# the prefix and RDNSS fd00:2::2; a DHCPv6 INFORMATION-REQUEST (guest.py
# dhcp6) must name fd00:2::2 as DNS server. Then ping -6 the gateway, and
# TCP over IPv6 to the gateway reaches the host's 127.0.0.1:8080 (the TCP
# relay falls back from ::1 to 127.0.0.1).

GW6=fd00:2::2
GW6_LL=fe80::73:6eff:fe00:1 # EUI-64 of the default gateway MAC 02:73:6e:00:00:01

# slaac_up: tap0 in the -d guest takes its address and default route from
# router advertisements (idempotent: a configured guest passes at once).
slaac_up() {
    g 40 sh -c '
        fail() { echo "$*"; exit 1; }
        sysctl -qw net.ipv6.conf.tap0.disable_ipv6=0 net.ipv6.conf.tap0.accept_ra=2 \
            net.ipv6.conf.tap0.autoconf=1 || fail "sysctl failed"
        ip link set tap0 up || fail "link up failed"
        n=150 a= r=
        while [ $n -gt 0 ]; do
            a=$(ip -6 -o addr show dev tap0 scope global | grep -v tentative |
                grep -o " fd00:2::[0-9a-f:]*/64 ")
            r=$(ip -6 route show default dev tap0)
            [ -n "$a" ] && [ -n "$r" ] && break
            n=$((n - 1))
            sleep 0.1
        done
        [ -n "$a" ] || fail "no address in fd00:2::/64: $(ip -6 -o addr show dev tap0 | tr -s " " | tr "\n" " ")"
        echo "$r" | grep -q "^default via $1 " || fail "default route: $r"
        echo "OK$a"' sh "$GW6_LL"
    ((G_RC == 0)) && [[ $(tail -n 1 "$G_OUT") == OK* ]] || { REASON=$(why); return 1; }
    diag "$CURRENT: address$(tail -n 1 "$G_OUT" | cut -c3-)"
}

case_slaac() {
    slaac_up || return 1

    local mtu ra want
    mtu=$(ip -n "$ATTACH_NS" -o link show dev tap0 | grep -o " mtu [0-9]*" | cut -d" " -f3)
    g 20 "$PY" "$E2E_DIR/guest.py" ra tap0 || { REASON="RA: $(why)"; return 1; }
    ra=$(tail -n 1 "$G_OUT")
    diag "slaac: $ra"
    [[ " $ra " == *" from=$GW6_LL%tap0 "* || " $ra " == *" from=$GW6_LL "* ]] ||
        { REASON="RA not from $GW6_LL: $ra"; return 1; }
    for want in hoplimit=255 mflag=0 oflag=1 "mtu=$mtu" prefix=fd00:2::/64 "rdnss=$GW6"; do
        [[ " $ra " == *" $want "* ]] || { REASON="RA lacks $want: $ra"; return 1; }
    done

    g 20 "$PY" "$E2E_DIR/guest.py" dhcp6 tap0 || { REASON="DHCPv6: $(why)"; return 1; }
    [[ $(tail -n 1 "$G_OUT") == "DNS $GW6" ]] || { REASON="DHCPv6 reply: $(tail -n 1 "$G_OUT")"; return 1; }

    g 20 ping -6 -n -c 2 -i 0.2 -W 2 "$GW6" || { REASON="ping -6: $(why)"; return 1; }
    grep -q '2 packets transmitted, 2 received' "$G_OUT" ||
        { REASON="ping -6: $(grep 'packets transmitted' "$G_OUT")"; return 1; }

    g 30 curl -g -fsS --max-time 10 "http://[$GW6]:$HOSTLO_PORT/" || { REASON="curl -6: $(why)"; return 1; }
    [[ $(<"$G_OUT") == "$HOSTLO_TOKEN" ]] ||
        { REASON="curl -6 got '$(head -c 80 "$G_OUT")', want '$HOSTLO_TOKEN'"; return 1; }
}

# ---- slaac-internet: the same self-configured guest (-d) uses what the RA
# gave it, and nothing else: its DNS server is the RA's RDNSS (read with
# guest.py ra, not assumed), through which AAAA www6.example.test must be
# 2001:db8:2::10; that stand-in host answers ping -6 and serves the 50 MB
# file over IPv6 (sha256 match), from the SLAAC address.
case_slaac_internet() {
    slaac_up || return 1
    local ra rdnss
    g 20 "$PY" "$E2E_DIR/guest.py" ra tap0 || { REASON="RA: $(why)"; return 1; }
    ra=$(tail -n 1 "$G_OUT")
    rdnss=$(tr ' ' '\n' <<<"$ra" | sed -n 's/^rdnss=//p' | head -n 1)
    [[ -n $rdnss ]] || { REASON="RA without RDNSS: $ra"; return 1; }
    diag "slaac-internet: DNS server from the RA: $rdnss"

    dig_case "$WEB6" dig @"$rdnss" "$NAME6" AAAA +short +notcp +time=2 +tries=2 ||
        { REASON="dig AAAA @$rdnss: $REASON"; return 1; }

    ping6_case "$WEB6" || { REASON="ping -6 $WEB6: $REASON"; return 1; }

    rm -f "$T/slaac.bin"
    g 120 curl -6 -g -fsS --connect-timeout 10 --max-time 100 -o "$T/slaac.bin" \
        -w '%{local_ip}' "http://[$WEB6]/big" || { REASON="curl -6: $(why)"; return 1; }
    local got size lip
    lip=$(<"$G_OUT")
    got=$(sha256sum <"$T/slaac.bin" | cut -d' ' -f1)
    size=$(stat -c %s "$T/slaac.bin")
    rm -f "$T/slaac.bin"
    [[ $got == "$BIG_SHA" ]] || { REASON="sha256 mismatch ($size of $BIG_SIZE bytes)"; return 1; }
    [[ $lip == fd00:2::* ]] || { REASON="downloaded from '$lip', not a SLAAC address"; return 1; }
    diag "slaac-internet: $size bytes from $lip"
}

# ---- IPv6 through the relays: the guest's fd00:2::15 via fd00:2::2.

# offload, offload6: at MTU 1500 the guest downloads and uploads 50 MB
# (curl, sha256 both ways) over IPv4 (IPv6) through the TAP's offloads:
# the stats file shows TCP segments larger than the MTU both ways
# (offload_in, offload_out), and tap0's MTU is still 1500; no-offload: the
# same with --no-offload, and not one frame larger than the MTU.
offload_case() { # offload_case HOST-IN-URL WANT-OFFLOAD SANDNET-OPTS...
    local url=$1 want=$2 stats=$T/$CURRENT.stats.json
    shift 2
    rm -f "$T/$CURRENT.bin" "$stats"
    EXTRA_OPTS=(--mtu 1500 --stats-file "$stats" "$@")
    g 240 sh -c 'ip -o link show dev tap0 | grep -o "mtu [0-9]*"
        curl -g -fsS --connect-timeout 10 --max-time 100 -o "$2" "$1/big" || exit 1
        sha256sum <"$2" | cut -d" " -f1
        curl -g -fsS --connect-timeout 10 --max-time 100 -T "$3" "$1/upload"' sh \
        "$url" "$T/$CURRENT.bin" "$T/up.bin"
    EXTRA_OPTS=()
    rm -f "$T/$CURRENT.bin"
    ((G_RC == 0)) || { REASON=$(why); return 1; }
    local exp="mtu 1500"$'\n'"$BIG_SHA"$'\n'"$UP_SHA $BIG_SIZE"
    [[ $(<"$G_OUT") == "$exp" ]] || { REASON="got: $(tr '\n' '|' <"$G_OUT")"; return 1; }
    local c
    c=$(jq -r '.counters | "\(.offload_in) \(.offload_out) \(.drop_malformed)"' "$stats" 2>&1) ||
        { REASON="stats file: $c"; return 1; }
    read -r oin oout bad <<<"$c"
    ((bad == 0)) || { REASON="drop_malformed $bad"; return 1; }
    if ((want)); then
        # 50 MB each way in segments up to 64 KiB: hundreds of frames at least
        ((oin > 200 && oout > 200)) || { REASON="offload_in $oin, offload_out $oout: super-frames not used"; return 1; }
    else
        ((oin == 0 && oout == 0)) || { REASON="offload_in $oin, offload_out $oout with --no-offload"; return 1; }
    fi
}
case_offload() { offload_case "http://$WEB" 1 --offload; }
case_offload6() { offload_case "http://[$WEB6]" 1 --offload; }
case_no_offload() { offload_case "http://$WEB" 0 --no-offload; }

case_download6() {
    rm -f "$T/dl6.bin"
    g 120 curl -6 -g -fsS --connect-timeout 10 --max-time 100 -o "$T/dl6.bin" "http://[$WEB6]/big" ||
        { REASON=$(why); return 1; }
    local got size
    got=$(sha256sum <"$T/dl6.bin" | cut -d' ' -f1)
    size=$(stat -c %s "$T/dl6.bin")
    rm -f "$T/dl6.bin"
    [[ $got == "$BIG_SHA" ]] || { REASON="sha256 mismatch ($size of $BIG_SIZE bytes)"; return 1; }
}

# dns-aaaa: AAAA forwarded over IPv4 transport (@10.0.2.2) and over IPv6
# transport (@fd00:2::2, the DNS relay's IPv6 side), and A over IPv6.
# dns-resolv6: `sandnet run` without --dns-upstream forwards to the
# nameservers of the host's resolv.conf, here an IPv6 one only
# (2001:db8:2::53; the unit suite covers scoped link-local ones).
case_dns_resolv6() {
    NO_UPSTREAM=1
    dig_case "$WEB"$'\n'"$WEB6" sh -c '
        dig @"$1" www.example.test A +short +notcp +time=2 +tries=2 &&
        dig @"$1" "$2" AAAA +short +notcp +time=2 +tries=2' sh "$GW" "$NAME6"
    local rc=$?
    NO_UPSTREAM=0
    return $rc
}

# dns-upstream6: --dns-upstream [IPv6]:PORT as the only upstream.
case_dns_upstream6() {
    NO_UPSTREAM=1
    EXTRA_OPTS=(--dns-upstream "[$DNS_UP6]:53")
    dig_case "$WEB" dig @"$GW" www.example.test A +short +notcp +time=2 +tries=2
    local rc=$?
    NO_UPSTREAM=0
    EXTRA_OPTS=()
    return $rc
}

case_dns_aaaa() {
    dig_case "$WEB6"$'\n'"$WEB6"$'\n'"$WEB" sh -c '
        dig @"$1" "$3" AAAA +short +notcp +time=2 +tries=2 &&
        dig @"$2" "$3" AAAA +short +notcp +time=2 +tries=2 &&
        dig @"$2" www.example.test A +short +notcp +time=2 +tries=2' sh "$GW" "$GW6" "$NAME6"
}

ping6_case() {
    g 30 ping -6 -n -c 3 -i 0.2 -W 2 "$1" || { REASON=$(why); return 1; }
    grep -q '3 packets transmitted, 3 received' "$G_OUT" ||
        { REASON=$(grep 'packets transmitted' "$G_OUT"); return 1; }
}
case_ping6_gateway() { ping6_case "$GW6"; }
case_ping6_remote() { ping6_case "$WEB6"; }

case_udp6_echo() {
    local long
    long=$(printf '%01300d' 0)
    local want=$'alpha-6\nbravo-66\n'"$long"$'\ndelta-6666'
    g 30 sh -c '
        addr=$1; shift
        { for m in "$@"; do printf "%s\n" "$m"; sleep 0.3; done; } |
            socat -t 2 - "UDP6:[$addr]:7"' sh "$WEB6" alpha-6 bravo-66 "$long" delta-6666 ||
        { REASON=$(why); return 1; }
    [[ $(<"$G_OUT") == "$want" ]] ||
        { REASON="echoed $(wc -c <"$G_OUT") bytes in $(wc -l <"$G_OUT") lines, want ${#want}+1 in 4: $(head -c 80 "$G_OUT" | tr '\n' ' ')"; return 1; }
}

# udp6-refused: as udp-refused, over IPv6: INET answers ICMPv6 port
# unreachable, sandnet reads it with IPV6_RECVERR and sends the guest
# ICMPv6 type 1 code 4 quoting its datagram.
case_udp6_refused() {
    g 30 "$PY" "$E2E_DIR/guest.py" udp-refused "$WEB6" 9 || { REASON=$(why); return 1; }
    grep -q '^refused after' "$G_OUT" || { REASON=$(why); return 1; }
}

# traceroute6: hop limits over IPv6. A UDP probe or echo request with hop
# limit 1 expires at the gateway (ICMPv6 time exceeded from fd00:2::2, sent
# by sandnet itself); with hop limit 2 it leaves HOST with
# IPV6_UNICAST_HOPS 1 and reaches INET, whose 2001:db8:2::10 answers (port
# unreachable for the UDP probe, through IPV6_RECVERR). Wanted: hops
# 1 fd00:2::2, 2 2001:db8:2::10, no '*'.
case_traceroute6() {
    g 60 sh -c '
        echo "hl 1: $(ping -6 -n -c 1 -t 1 -W 2 "$1" | grep -E "^From" | head -n 1)"
        traceroute -6 -U -p 33434 -n -q 1 -w 2 -m 4 "$1"' sh "$WEB6" ||
        { REASON=$(why); return 1; }
    grep -qE "^hl 1: From $GW6 icmp_seq=1 Time exceeded" "$G_OUT" ||
        { REASON="ping -6 -t 1: $(tr '\n' '|' <"$G_OUT")"; return 1; }
    local hops want="1 $GW6;2 $WEB6;"
    hops=$(awk '$1 ~ /^[0-9]+$/ { printf "%s %s;", $1, $2 }' "$G_OUT")
    [[ $hops == "$want" ]] || { REASON="hops '$hops', want '$want'"; return 1; }
    ! grep -q '\*' "$G_OUT" || { REASON="a hop did not answer: $(tr '\n' '|' <"$G_OUT")"; return 1; }
}

# ---- upload-drain, upload-drain6: fire-and-forget uploads, the drain on
# exit. Three clients write the 50 MB file to the sink (INET :9001,
# servers.py --sink: reads to EOF, records "<sha256> <bytes>"), close and
# exit without waiting for any reply: socat -u from the file, nc -N -q 0
# from the file (netcat-openbsd), cat | socat -u. When a client exits, the
# guest's kernel still holds what its orphaned socket has not sent, the
# engine what the host socket has not taken.
#   run: the client is COMMAND: `sandnet run` must serve on until that
#        arrived, then exit with the client's status (0).
#   attach: SIGTERM to `sandnet attach` right after the client exited; it
#        must drain, then exit 0 (a fresh instance per upload).
# Every upload must arrive whole: sha256 and size of the file. DRAIN_ROUNDS
# rounds of the three (SNE2E_DRAIN_ROUNDS, default 10). sandnet runs with
# -v, and how many uploads it had to drain for is shown (not asserted: it
# depends on timing).

DRAIN_ROUNDS=${SNE2E_DRAIN_ROUNDS:-10}
SINK_PORT=9001
DRAIN_SEEN=0 DRAIN_MAX=0

sink_lines() { # lines the sink has written so far
    local n=0
    [[ -e $T/sink.log ]] && n=$(wc -l <"$T/sink.log")
    echo "$n"
}

# drain_note FILE: count a "drained in N s" line of sandnet -v in FILE
drain_note() {
    local s
    s=$(sed -n 's/^sandnet: drained in \([0-9.]*\) s.*/\1/p' "$1" | tail -n 1)
    [[ -n $s ]] || return 0
    DRAIN_SEEN=$((DRAIN_SEEN + 1))
    [[ $(printf '%s\n%s\n' "$s" "$DRAIN_MAX" | sort -g | tail -n 1) == "$s" ]] && DRAIN_MAX=$s
    return 0
}

# drain_fresh_attach [OPTION...]: a new `sandnet attach -v OPTION...` in a
# new -a namespace
drain_fresh_attach() {
    if [[ -n $ATTACH_PID ]]; then
        attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
    fi
    ATTACH_EXTRA_OPTS=(-v "$@")
    attach_start 0
    local rc=$?
    ATTACH_EXTRA_OPTS=()
    ((rc == 0)) || { REASON=$ATTACH_ERR; return 1; }
}

# drain_upload CLIENT ADDR: one upload by CLIENT (socat, nc, cat-socat) to
# the sink at ADDR; sets REASON and returns 1 unless it all arrived.
drain_upload() {
    local client=$1 addr=$2 before rc n got target
    target="TCP4:$addr:$SINK_PORT"
    [[ $addr == *:* ]] && target="TCP6:[$addr]:$SINK_PORT"
    before=$(sink_lines)
    if [[ $MODE == attach ]]; then
        drain_fresh_attach || return 1
    else
        EXTRA_OPTS=(-v)
    fi
    case $client in
    socat) g 120 sh -c 'exec socat -u - "$1" <"$2"' sh "$target" "$T/up.bin" ;;
    nc) g 120 sh -c 'exec nc -N -q 0 "$1" "$2" <"$3"' sh "$addr" "$SINK_PORT" "$T/up.bin" ;;
    cat-socat) g 120 sh -c 'cat "$2" | socat -u - "$1"' sh "$target" "$T/up.bin" ;;
    esac
    rc=$?
    EXTRA_OPTS=()
    if [[ $MODE == attach ]]; then
        attach_stop || { REASON="$client to $addr: $ATTACH_STOP_ERR"; return 1; }
        ip netns del "$ATTACH_NS" 2>/dev/null
        drain_note "$ATTACH_LOG"
    else
        drain_note "$G_ERR"
    fi
    ((rc == 0)) || { REASON="$client to $addr: $(why)"; return 1; }
    # The sink writes its line before it closes, and `sandnet run` exits
    # (attach: is stopped) only once the connection closed; a short wait
    # covers the sink's thread, and nothing can arrive after sandnet exited.
    for ((n = 100; n > 0; n--)); do
        (($(sink_lines) > before)) && break
        sleep 0.1
    done
    got=$(sed -n "$((before + 1))p" "$T/sink.log" 2>/dev/null)
    [[ $got == "$UP_SHA $BIG_SIZE" ]] ||
        { REASON="$client to $addr: the sink got '${got:-nothing}', want '$UP_SHA $BIG_SIZE'"; return 1; }
}

drain_case() { # drain_case ADDR: DRAIN_ROUNDS rounds of the three clients
    local r c
    DRAIN_SEEN=0 DRAIN_MAX=0
    for ((r = 1; r <= DRAIN_ROUNDS; r++)); do
        for c in socat nc cat-socat; do
            drain_upload "$c" "$1" || { REASON="round $r: $REASON"; return 1; }
        done
    done
    diag "$CURRENT: $((DRAIN_ROUNDS * 3)) uploads of $BIG_SIZE bytes whole; sandnet drained for $DRAIN_SEEN of them (longest ${DRAIN_MAX} s)"
}
case_upload_drain() { drain_case "$WEB"; }
case_upload_drain6() { drain_case "$WEB6"; }

# ---- drain-linger: a connection the guest never closes (a daemon left
# behind, here socat holding an idle connection to INET's HTTP port) ends
# the drain after --linger seconds without progress, and the exit status is
# kept: run: COMMAND starts it in the background and exits 3, sandnet
# exits 3; attach: SIGTERM, exit 0. sandnet -v must say the drain ended
# for want of progress after at least --linger (2) and less than 4 s.
# attach also: with --linger 60, a second SIGTERM 0.5 s after the first
# must end the drain at once (exit 0 within 2 s, "stopped by SIGTERM").
LINGER_S=2

# linger_log FILE: REASON unless FILE has the drain ending for want of
# progress after LINGER_S..LINGER_S+2 s
linger_log() {
    local line s
    line=$(grep 'drain ended after' "$1" | tail -n 1)
    s=$(sed -n 's/.*drain ended after \([0-9]*\)\.[0-9] s (no progress for --linger) with 1 TCP connection open$/\1/p' <<<"$line")
    [[ -n $s ]] && ((s >= LINGER_S && s < LINGER_S + 2)) ||
        { REASON="drain: '${line:-no end logged}', want it ended by --linger $LINGER_S after ${LINGER_S}..$((LINGER_S + 2)) s"; return 1; }
}

case_drain_linger() {
    local pid rc n
    rm -f "$T/idle.pid"
    if [[ $MODE == run ]]; then
        EXTRA_OPTS=(-v --linger "$LINGER_S")
        g 30 sh -c 'socat -u "TCP4:$1:80" - >/dev/null 2>&1 </dev/null & echo $! >"$2"
            n=50; until ss -tnH state established | grep -q ":80$"; do
                n=$((n - 1)); [ $n -gt 0 ] || exit 9; sleep 0.1; done
            exit 3' sh "$WEB" "$T/idle.pid"
        rc=$?
        EXTRA_OPTS=()
        [[ -s $T/idle.pid ]] && kill "$(<"$T/idle.pid")" 2>/dev/null
        ((rc == 3)) || { REASON="sandnet run exited $rc, want COMMAND's 3: $(why)"; return 1; }
        linger_log "$G_ERR"
        return
    fi
    local i
    for i in 1 2; do
        if ((i == 1)); then
            drain_fresh_attach --linger "$LINGER_S" || return 1
        else
            drain_fresh_attach --linger 60 || return 1
        fi
        ip netns exec "$ATTACH_NS" sh -c 'socat -u "TCP4:$1:80" - >/dev/null 2>&1 </dev/null & echo $! >"$2"' \
            sh "$WEB" "$T/idle.pid"
        for ((n = 50; n > 0; n--)); do
            ip netns exec "$ATTACH_NS" ss -tnH state established | grep -q ":80$" && break
            sleep 0.1
        done
        ((n > 0)) || { REASON="the idle connection was not established"; return 1; }
        if ((i == 1)); then
            attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
            linger_log "$ATTACH_LOG" || return 1
        else
            pid=$ATTACH_PID ATTACH_PID=
            kill -TERM "$pid"
            sleep 0.5
            kill -TERM "$pid" 2>/dev/null
            wait_gone 20 "$pid" || { kill -KILL "$pid"; wait "$pid"; REASON="a second SIGTERM did not stop the drain within 2 s"; return 1; }
            wait "$pid"
            rc=$?
            ((rc == 0)) || { REASON="exit $rc after two SIGTERMs: $(tail -n 1 "$ATTACH_LOG")"; return 1; }
            grep -q 'drain ended after .* (stopped by SIGTERM) with 1 TCP connection open' "$ATTACH_LOG" ||
                { REASON="no drain stopped by SIGTERM: $(tr '\n' '|' <"$ATTACH_LOG")"; return 1; }
        fi
        kill "$(<"$T/idle.pid")" 2>/dev/null
        ip netns del "$ATTACH_NS" 2>/dev/null
    done
}

# ---- no-ipv6 (attach): `sandnet attach --configure` into a namespace
# with net.ipv6.conf.all and default.disable_ipv6 = 1 (the -e guest):
# sandnet says once that IPv6 is off and configures IPv4; a 50 MB download
# over IPv4 arrives whole; the guest's kernel counted no IPv6 packet in or
# out (a disabled device still counts what arrives, in Ip6InReceives, so
# one router advertisement from the engine would show); and SIGTERM ends
# sandnet with status 0.
# Not in run mode: a namespace `sandnet run` creates takes its IPv6
# settings from the kernel's defaults (net.core.devconf_inherit_init_net
# 0, an initial-namespace-only sysctl), and COMMAND starts only after
# sandnet configured tap0; only a machine-wide setting (ipv6.disable_ipv6=1
# on the kernel command line) makes such a namespace, which a test must not
# change. run configures tap0 with the same tap_configure().
case_no_ipv6() {
    local warn
    warn=$(grep -c 'IPv6 is off in this namespace' "$ATTACH_LOG")
    ((warn == 1)) || { REASON="sandnet said $warn times that IPv6 is off, want once: $(tr '\n' '|' <"$ATTACH_LOG")"; return 1; }
    ! grep -v -e 'warning: IPv6 is off' -e '^sandnet: info:' "$ATTACH_LOG" | grep -q . ||
        { REASON="other sandnet messages: $(grep -v 'IPv6 is off' "$ATTACH_LOG" | tr '\n' '|')"; return 1; }
    rm -f "$T/noip6.bin"
    g 120 curl -fsS --connect-timeout 10 --max-time 100 -o "$T/noip6.bin" "http://$WEB/big" ||
        { REASON="curl: $(why)"; return 1; }
    local got size
    got=$(sha256sum <"$T/noip6.bin" | cut -d' ' -f1)
    size=$(stat -c %s "$T/noip6.bin")
    rm -f "$T/noip6.bin"
    [[ $got == "$BIG_SHA" ]] || { REASON="sha256 mismatch ($size of $BIG_SIZE bytes)"; return 1; }
    sleep 1 # an RA answering anything of the download would be out by now
    g 10 sh -c 'cat /proc/sys/net/ipv6/conf/tap0/disable_ipv6; grep -E "^Ip6(InReceives|OutRequests) " /proc/net/snmp6'
    local want=$'1\nIp6InReceives 0\nIp6OutRequests 0'
    [[ $(tr -s ' \t' ' ' <"$G_OUT") == "$want" ]] ||
        { REASON="guest IPv6 state: $(tr -s ' \t' ' ' <"$G_OUT" | tr '\n' '|'), want $(tr '\n' '|' <<<"$want")"; return 1; }
    attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
}

# ---- publish-*: host ports published into the guest (--publish). In run
# mode each case's `sandnet run` publishes PUB_OPTS, in attach mode one
# instance (-g) does. The guest serves with servers.py pub-* (run in the
# foreground by g); the host's client runs at the same time in HOST (or
# INET), started once the guest server's ready file exists.

PUB_TCP=18080 PUB_GTCP=8080       # 127.0.0.1 -> guest 8080: 100 MB each way
PUB_UDP=18081 PUB_GUDP=7007       # 127.0.0.1/udp -> guest 7007: UDP echo
PUB_ANY=18082 PUB_GANY=8082       # [::] (every address of HOST) -> guest 8082
PUB_CLOSED=18084 PUB_GCLOSED=8084 # 127.0.0.1 -> guest 8084, where nothing listens
PUB_SIZE=$((100 * 1024 * 1024))
PUB_OPTS=(--publish "127.0.0.1:$PUB_TCP:$PUB_GTCP" --publish "127.0.0.1:$PUB_UDP:$PUB_GUDP/udp"
    --publish "[::]:$PUB_ANY:$PUB_GANY" --publish "127.0.0.1:$PUB_CLOSED:$PUB_GCLOSED")
PUB_PID='' PUB_RC=0

# pub_client NS SECONDS READY ARGV...: run ARGV in namespace NS in the
# background (bounded) once the file READY exists, then create READY.done
# (the guest's server, given --done READY.done, waits for it before it
# exits); output in $T/$CURRENT.client.{out,err}; pub_client_wait puts its
# status in PUB_RC.
pub_client() {
    local ns=$1 tmo=$2 ready=$3
    shift 3
    rm -f -- "$ready" "$ready.done"
    timeout -k 5 "$tmo" ip netns exec "$ns" sh -c '
        n=600
        while [ ! -e "$1" ]; do
            n=$((n - 1))
            [ $n -gt 0 ] || { echo "the guest server never got ready" >&2; exit 99; }
            sleep 0.05
        done
        r=$1
        shift
        "$@"
        rc=$?
        touch "$r.done"
        exit $rc' sh "$ready" "$@" </dev/null >"$T/$CURRENT.client.out" 2>"$T/$CURRENT.client.err" &
    PUB_PID=$!
    BG_PIDS+=("$PUB_PID")
}
pub_client_wait() {
    wait "$PUB_PID"
    PUB_RC=$?
    PUB_PID=
}
pub_why() { # the client's side of a failure, and the guest's
    printf 'client exit %s: %s; guest: %s' "$PUB_RC" \
        "$(grep -v '^[[:space:]]*$' "$T/$CURRENT.client.err" 2>/dev/null | tail -n 1 | cut -c1-200)" "$(why)"
}
pub_run_opts() { [[ $MODE == run ]] && EXTRA_OPTS=("${PUB_OPTS[@]}"); return 0; }

# publish-tcp: a host client (socat, in HOST) sends 100 MB to 127.0.0.1:18080
# and half-closes; the guest's server reads to EOF, answers "<sha256>
# <bytes>" of what came and another 100 MB, then closes. Both digests must
# match, and the guest must have seen the gateway address for the
# loopback client.
case_publish_tcp() {
    if [[ ! -e $T/pub-down.bin ]]; then
        must "publish files" sh -c "head -c $PUB_SIZE /dev/urandom >'$T/pub-up.bin' &&
            head -c $PUB_SIZE /dev/urandom >'$T/pub-down.bin'" || { REASON=$SETUP_ERR; return 1; }
    fi
    local ready=$T/$CURRENT.ready up_sha down_sha head got size
    up_sha=$(sha256sum <"$T/pub-up.bin" | cut -d' ' -f1)
    down_sha=$(sha256sum <"$T/pub-down.bin" | cut -d' ' -f1)
    pub_client "$NS_HOST" 150 "$ready" sh -c 'socat -t 60 -T 30 - "TCP:127.0.0.1:$1" <"$2" >"$3"' \
        sh "$PUB_TCP" "$T/pub-up.bin" "$T/pub-out.bin"
    pub_run_opts
    g 150 "$PY" "$E2E_DIR/servers.py" pub-sink --port "$PUB_GTCP" --down "$T/pub-down.bin" --ready "$ready" --done "$ready.done"
    EXTRA_OPTS=()
    pub_client_wait
    ((G_RC == 0 && PUB_RC == 0)) || { REASON=$(pub_why); rm -f "$T/pub-out.bin"; return 1; }
    head=$(head -n 1 "$T/pub-out.bin")
    got=$(tail -c +$((${#head} + 2)) "$T/pub-out.bin" | sha256sum | cut -d' ' -f1)
    size=$(stat -c %s "$T/pub-out.bin")
    rm -f "$T/pub-out.bin"
    [[ $head == "$up_sha $PUB_SIZE" ]] || { REASON="guest got '$head', want '$up_sha $PUB_SIZE'"; return 1; }
    [[ $got == "$down_sha" ]] || { REASON="host got $size bytes, sha256 mismatch"; return 1; }
    grep -q "^sink $PUB_SIZE bytes from $GW [0-9]*, " "$G_OUT" ||
        { REASON="guest saw: $(head -n 1 "$G_OUT")"; return 1; }
}

# publish-udp: four datagrams (one of 1300 bytes) from a host client to
# 127.0.0.1:18081/udp come back unchanged from the guest's echo server,
# which saw them all from the gateway address and one port.
case_publish_udp() {
    local ready=$T/$CURRENT.ready long want peers
    long=$(printf '%01300d' 0)
    want=$'alpha-p\nbravo-pp\n'"$long"$'\ndelta-pppp'
    pub_client "$NS_HOST" 30 "$ready" sh -c '
        port=$1; shift
        { for m in "$@"; do printf "%s\n" "$m"; sleep 0.3; done; } | socat -t 2 - "UDP:127.0.0.1:$port"' \
        sh "$PUB_UDP" alpha-p bravo-pp "$long" delta-pppp
    pub_run_opts
    g 30 "$PY" "$E2E_DIR/servers.py" pub-udp --port "$PUB_GUDP" --count 4 --ready "$ready" --done "$ready.done"
    EXTRA_OPTS=()
    pub_client_wait
    ((G_RC == 0 && PUB_RC == 0)) || { REASON=$(pub_why); return 1; }
    [[ $(<"$T/$CURRENT.client.out") == "$want" ]] ||
        { REASON="client got $(wc -c <"$T/$CURRENT.client.out") bytes: $(head -c 80 "$T/$CURRENT.client.out" | tr '\n' ' ')"; return 1; }
    peers=$(sed -n 's/^udp [0-9]* bytes from //p' "$G_OUT" | sort -u)
    [[ $peers =~ ^$GW\ [0-9]+$ ]] || { REASON="guest saw datagrams from '$(tr '\n' '|' <<<"$peers")'"; return 1; }
}

# publish-real-addr: [::]:18082 is published on every address of HOST;
# INET connects to HOST's 198.51.100.2 and 2001:db8:1::2 from source ports
# 40801 and 40802, and the guest's server names the peer it saw: INET's
# own addresses and ports, IPv4 and IPv6.
case_publish_real_addr() {
    local ready=$T/$CURRENT.ready want
    pub_client "$NS_INET" 30 "$ready" sh -c '
        socat -u "TCP:$1:$3,sourceport=40801" - && socat -u "TCP6:[$2]:$3,sourceport=40802" -' \
        sh "$HOST_ADDR" "$HOST_ADDR6" "$PUB_ANY"
    pub_run_opts
    g 30 "$PY" "$E2E_DIR/servers.py" pub-who --port "$PUB_GANY" --count 2 --ready "$ready" --done "$ready.done"
    EXTRA_OPTS=()
    pub_client_wait
    ((G_RC == 0 && PUB_RC == 0)) || { REASON=$(pub_why); return 1; }
    want="$INET_ADDR 40801"$'\n'"$INET_ADDR6 40802"
    [[ $(<"$T/$CURRENT.client.out") == "$want" ]] ||
        { REASON="guest saw '$(tr '\n' '|' <"$T/$CURRENT.client.out")', want '$(tr '\n' '|' <<<"$want")'"; return 1; }
}

# publish-closed: nothing listens on the guest's port 8084: a client of
# 127.0.0.1:18084 (socat, whose -d shows the read error; it exits 0 on it)
# is reset, within 1 s.
case_publish_closed() {
    local ready=$T/$CURRENT.ready done=$T/$CURRENT.done out ms
    rm -f "$done"
    pub_client "$NS_HOST" 30 "$ready" sh -c '
        s=$(date +%s%N)
        socat -d -u "TCP:127.0.0.1:$1" - 2>"$2.err"
        rc=$?
        e=$(date +%s%N)
        echo "rc=$rc ms=$(( (e - s) / 1000000 )) $(tail -n 1 "$2.err")"
        touch "$2"' sh "$PUB_CLOSED" "$done"
    pub_run_opts
    g 30 sh -c 'touch "$1"; n=200; while [ ! -e "$2" ] && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done' \
        sh "$ready" "$done"
    EXTRA_OPTS=()
    pub_client_wait
    out=$(tail -n 1 "$T/$CURRENT.client.out")
    [[ $PUB_RC == 0 && $out =~ ^rc=([0-9]+)\ ms=([0-9]+)\ (.*)$ ]] || { REASON="no result; $(pub_why)"; return 1; }
    ms=${BASH_REMATCH[2]}
    [[ ${BASH_REMATCH[3]} == *"reset by peer"* ]] || { REASON="socat: $out"; return 1; }
    ((ms < 1000)) || { REASON="reset only after ${ms} ms"; return 1; }
}
# lossy, lossy6: 1 % of the packets on the guest's tap0 dropped each way
# (nftables in the guest's namespace; gso_max_segs 1 so that the output
# chain sees packets, not 64 KiB GSO bursts), MTU 1500: the 50 MB download
# and upload each complete with sha256 equal within LOSS_LIMIT seconds. The
# seconds each took go to stderr. run mode: a fresh `sandnet run --mtu
# 1500` per transfer, the rules loaded by the guest command; attach: the
# same command in the running guest (its tap0 set to MTU 1500, so TCP uses
# MSS 1460 both ways), which gets its rules removed and tap0 restored
# afterwards. (bench/loss.sh compares the times with slirp4netns and the
# kernel.)
lossy_guest() { # lossy_guest ARGV...: the guest command, on a lossy link
    local tap=() rc
    [[ $MODE == run ]] && EXTRA_OPTS=(--mtu 1500)
    # "mtu N" and "gso_max_segs N" of the running guest's tap0, to restore
    [[ $MODE == attach ]] && read -r -a tap < <(ip -d -n "$ATTACH_NS" link show dev tap0 |
        grep -o -e ' mtu [0-9]*' -e ' gso_max_segs [0-9]*' | tr '\n' ' ')
    g $((LOSS_LIMIT + 30)) sh -c 'nft -f "$1" && ip link set tap0 mtu 1500 gso_max_segs 1 && shift && exec "$@"' \
        sh "$T/loss.nft" "$@"
    rc=$?
    EXTRA_OPTS=()
    if [[ $MODE == attach ]]; then
        ip netns exec "$ATTACH_NS" nft delete table inet sne2e_loss 2>/dev/null
        ((${#tap[@]} == 4)) && ip -n "$ATTACH_NS" link set dev tap0 "${tap[@]}"
    fi
    return $rc
}

lossy_case() { # lossy_case URL_BASE LABEL
    local base=$1 label=$2 got size down up
    rm -f "$T/lossy.bin"
    lossy_guest curl -g -fsS --connect-timeout 10 --max-time "$LOSS_LIMIT" -o "$T/lossy.bin" \
        -w '%{time_total}' "$base/big" || { REASON="download: $(why)"; return 1; }
    down=$(<"$G_OUT")
    got=$(sha256sum <"$T/lossy.bin" | cut -d' ' -f1)
    size=$(stat -c %s "$T/lossy.bin")
    rm -f "$T/lossy.bin"
    [[ $got == "$BIG_SHA" ]] || { REASON="download: sha256 mismatch ($size of $BIG_SIZE bytes)"; return 1; }
    lossy_guest curl -g -fsS --connect-timeout 10 --max-time "$LOSS_LIMIT" -T "$T/up.bin" \
        -w '%{time_total}' "$base/upload" || { REASON="upload: $(why)"; return 1; }
    got=$(head -n 1 "$G_OUT")
    up=$(tail -n 1 "$G_OUT")
    [[ $got == "$UP_SHA $BIG_SIZE" ]] || { REASON="upload: server saw '$got', want '$UP_SHA $BIG_SIZE'"; return 1; }
    diag "$CURRENT: ${LOSS_PCT}% loss each way, MTU 1500, $label: 50 MB down in $down s, up in ${up#"$got"} s"
}
case_lossy() { lossy_case "http://$WEB" IPv4; }
case_lossy6() { lossy_case "http://[$WEB6]" IPv6; }

lifecycle_case() { # lifecycle_case FLAG: the instance comes up, survives the cases, exits 0 on SIGTERM
    attach_ensure "$1" || { REASON=$ATTACH_ERR; return 1; }
    attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
}
case_attach_lifecycle() { lifecycle_case 0; }
case_attach_lifecycle_hostlo() { lifecycle_case 1; }

# ---- policy (issue 6): the default profile, rules, a policy file, bypass attempts

# policy_refused URL...: each connection fails with ECONNREFUSED (an RST
# from sandnet) within 1 s; one line per URL in G_OUT: "URL rc MS".
policy_refused() {
    g 60 sh -c '
        for u in "$@"; do
            s=$(date +%s%N)
            curl -gsS --max-time 5 -o /dev/null "$u" 2>/dev/null
            rc=$?
            echo "$u $rc $(( ($(date +%s%N) - s) / 1000000 ))"
        done' sh "$@" || true
    local u rc ms bad=''
    while read -r u rc ms; do
        [[ $rc == 7 && $ms -lt 1000 ]] || bad+="$u: curl exit $rc after $ms ms; "
    done <"$G_OUT"
    [[ $(wc -l <"$G_OUT") -eq $# ]] || bad+="$(wc -l <"$G_OUT") of $# URLs tried; "
    [[ -z $bad ]] || { REASON=$bad; return 1; }
}

# policy-default: under the default profile a public host is reached; the
# host through the gateway, the metadata endpoint, a private-range host and
# the host's own interface addresses all fail at once (RST, < 1 s).
case_policy_default() {
    g 30 curl -fsS --max-time 10 -o /dev/null "http://$WEB/n/1" || { REASON="public host: $(why)"; return 1; }
    policy_refused "http://$GW:$HOSTLO_PORT/" "http://$META_ADDR/" "http://$PRIV_ADDR/" \
        "http://$HOST_ADDR:$HOSTIF_PORT/" "http://[$HOST_ADDR6]:$CANARY_PORT/"
}

# policy-allow: the same destinations with rules that allow them: the
# stand-ins answer, so the denials above were the policy's.
case_policy_allow() {
    EXTRA_OPTS=(--allow group:metadata --allow "tcp:$PRIV_ADDR:80" --allow group:host)
    g 30 sh -c 'for u in "$@"; do curl -fsS --max-time 5 "$u" || exit 1; done' sh \
        "http://$META_ADDR/" "http://$PRIV_ADDR/" "http://$HOST_ADDR:$HOSTIF_PORT/" \
        "http://$GW:$HOSTLO_PORT/"
    local rc=$?
    EXTRA_OPTS=()
    ((rc == 0)) || { REASON=$(why); return 1; }
    local want="meta-$TOKEN priv-$TOKEN hostif-$TOKEN $HOSTLO_TOKEN"
    [[ $(tr '\n' ' ' <"$G_OUT") == "$want " ]] || { REASON="answers: $(tr '\n' ' ' <"$G_OUT")"; return 1; }
}

# policy-file: a JSON policy file (deny ports of a public host, allow one
# port of a private host) and --deny on the command line, evaluated first.
case_policy_file() {
    cat >"$T/policy.json" <<EOF
{
  "default_egress": "allow",
  "rules": [
    {"destination": "$WEB/32", "ports": [81, "9000-9001"], "protocols": ["tcp"], "action": "deny"},
    {"destination": {"cidr": "$PRIV_ADDR/32"}, "protocols": ["tcp"], "ports": [80], "action": "allow"}
  ],
  "dns": {"rebind_protection": true}
}
EOF
    "$SANDNET" policy check "$T/policy.json" >"$T/policy-check.out" 2>&1 ||
        { REASON="policy check: $(cat "$T/policy-check.out")"; return 1; }
    EXTRA_OPTS=(--policy "$T/policy.json" --deny "tcp:$PRIV_ADDR:80")
    policy_refused "http://$PRIV_ADDR/" "http://$WEB:9000/"
    local rc=$?
    EXTRA_OPTS=(--policy "$T/policy.json")
    if ((rc == 0)) && ! g 30 curl -fsS --max-time 5 -o /dev/null "http://$PRIV_ADDR/"; then
        REASON="the file's allow rule: $(why)"
        rc=1
    fi
    EXTRA_OPTS=()
    return $rc
}

# policy-reload: SIGHUP re-reads the policy file: a connection opened under
# the old policy goes on, a new one gets the new verdict (guest.py reload).
case_policy_reload() {
    local dir=$T/reload rc
    rm -rf "$dir"
    mkdir -m 1777 "$dir"
    printf '{"rules": []}\n' >"$dir/policy.json"
    # the harness's side, while the guest holds its connection open
    (
        n=300
        while ((n-- > 0)) && [[ ! -e $dir/ready ]]; do sleep 0.1; done
        printf '{"rules": [{"destination": "%s", "action": "deny"}]}\n' "$WEB" >"$dir/policy.json"
        # sandnet itself, not the timeout(1) above it (which would pass the
        # signal to its whole process group, the guest included)
        pid=$(pgrep -f "^[^ ]*sandnet run --dns-upstream $DNS_UP .*--policy $dir/policy.json" | head -n 1)
        [[ -n $pid ]] && kill -HUP "$pid" || touch "$dir/nopid"
        sleep 0.5
        touch "$dir/reloaded"
    ) &
    local hpid=$!
    EXTRA_OPTS=(--policy "$dir/policy.json")
    g 60 "$PY" "$E2E_DIR/guest.py" reload "$WEB" 9000 80 "$dir"
    rc=$?
    EXTRA_OPTS=()
    wait "$hpid"
    [[ ! -e $dir/nopid ]] || { REASON="no sandnet run process to signal"; return 1; }
    ((rc == 0)) || { REASON="guest: $(why)"; return 1; }
    grep -q "SIGHUP: policy reloaded from $dir/policy.json" "$G_ERR" ||
        { REASON="sandnet did not say it reloaded: $(tail -n 2 "$G_ERR" | tr '\n' ' ')"; return 1; }
}

# policy-suffix: with --default-egress deny, a *.suffix rule lets the guest
# reach a name it resolved, and not the same address as an IP literal it
# never resolved (each `sandnet run` starts with an empty pin cache).
case_policy_suffix() {
    EXTRA_OPTS=(--default-egress deny --allow '*.example.test')
    g 30 sh -c '
        s=$(date +%s%N)
        curl -sS --max-time 5 -o /dev/null "http://$1/n/1" 2>/dev/null
        echo "literal $? $(( ($(date +%s%N) - s) / 1000000 ))"
        curl -fsS --max-time 5 "http://www.example.test/n/2"' sh "$WEB"
    local rc=$?
    EXTRA_OPTS=()
    local lit
    lit=$(head -n 1 "$G_OUT")
    [[ $lit =~ ^literal\ 7\ ([0-9]+)$ && ${BASH_REMATCH[1]} -lt 1000 ]] ||
        { REASON="the IP literal was not refused at once: $lit"; return 1; }
    ((rc == 0)) && grep -q "^conn 2 $TOKEN\$" "$G_OUT" ||
        { REASON="the resolved name: $(why)"; return 1; }
}

# dns-loopback-stub: the host's resolv.conf names a resolver on its own
# loopback (127.0.0.53, like systemd-resolved): the guest still resolves
# through the gateway under the default profile, which denies loopback.
case_dns_loopback_stub() {
    local conf=/etc/netns/$NS_HOST/resolv.conf saved stub rc
    saved=$(<"$conf")
    ip netns exec "$NS_HOST" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --bind-interfaces --listen-address=127.0.0.53 --port=53 --user=root \
        --group=root "--server=$DNS_UP" </dev/null >"$T/stub.out" 2>&1 &
    stub=$!
    BG_PIDS+=("$stub")
    if ! wait_for 50 "stub resolver" dig_is "$NS_HOST" 127.0.0.53 www.example.test "$WEB"; then
        REASON=$SETUP_ERR
        end_pids "$stub"
        return 1
    fi
    printf 'nameserver 127.0.0.53\n' >"$conf"
    NO_UPSTREAM=1
    dig_case "$WEB" dig @"$GW" www.example.test A +short +notcp +time=2 +tries=2
    rc=$?
    NO_UPSTREAM=0
    printf '%s\n' "$saved" >"$conf"
    end_pids "$stub"
    return $rc
}

# bypass: crafted frames (tests/e2e/bypass.py: TCP, UDP, DNS, ICMP and
# fragments to every encoding of an unspecified, loopback, gateway, host
# or broadcast address) never reach the canary on HOST's own addresses.
bypass_send() { # bypass_send: the frames, from the guest
    g 90 sh -c '/usr/bin/python3 "$1" tap0 "$2" && sleep 1' sh "$E2E_DIR/bypass.py" "$CANARY_PORT"
}
case_bypass() {
    if ! /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
        REASON="python3-scapy missing"
        return 1
    fi
    : >"$T/canary.log"
    bypass_send || { REASON="bypass.py: $(why)"; return 1; }
    [[ ! -s $T/canary.log ]] || { REASON="reached the host: $(head -n 5 "$T/canary.log" | tr '\n' ';')"; return 1; }
    diag "bypass: $(<"$G_OUT"), none reached the canary"
}

# bypass-control: the same frames with --allow any: the loopback and host
# spellings now reach the canary, so the canary sees what gets through.
case_bypass_control() {
    local rc
    : >"$T/canary.log"
    EXTRA_OPTS=(--allow any)
    bypass_send
    rc=$?
    EXTRA_OPTS=()
    ((rc == 0)) || { REASON="bypass.py: $(why)"; return 1; }
    grep -q "^tcp .* -> 127.0.0.1:$CANARY_PORT\$" "$T/canary.log" ||
        { REASON="no TCP to 127.0.0.1 reached the canary: $(tr '\n' ';' <"$T/canary.log")"; return 1; }
    grep -q "^udp .* -> 127.0.0.1:53\$" "$T/canary.log" ||
        { REASON="no DNS to 127.0.0.1:53 reached the canary: $(tr '\n' ';' <"$T/canary.log")"; return 1; }
    diag "bypass-control: $(grep -c '^tcp ' "$T/canary.log") TCP and $(grep -c '^udp ' "$T/canary.log") UDP arrivals with --allow any"
}

# ---- api-*: the control socket (--api-socket) and live stats (--stats-file,
# SIGUSR1). In run mode each case's `sandnet run` has API_OPTS, in attach
# mode one instance (-h) does. The host's side is tests/e2e/api.sh, run in
# HOST like the publish-* clients (pub_client) while the guest serves or
# waits.

API_HPORT=18090 API_GPORT=80
API_SOCK='' API_STATS='' API_OPTS=()
api_paths() { # the socket and stats file of this mode (run: fresh per sandnet run), once $T exists
    API_SOCK=$T/api-$MODE.sock API_STATS=$T/stats-$MODE.json
    API_OPTS=(--api-socket "$API_SOCK" --stats-file "$API_STATS" --stats-interval 1)
}
api_run_opts() { [[ $MODE == run ]] && EXTRA_OPTS=("${API_OPTS[@]}"); return 0; }
api_log() { # sandnet's log: the last guest command's stderr (run) or attach's
    if [[ $MODE == run ]]; then cat -- "$G_ERR"; else cat -- "$ATTACH_LOG"; fi
}

# api_wait_then READY DONE ARGV...: the guest's side of a case whose host side
# runs meanwhile: say READY, wait (at most 30 s) for DONE, then run ARGV.
api_wait_then() {
    g 90 sh -c 'r=$1 d=$2; shift 2; touch "$r"; n=600
        while [ ! -e "$d" ] && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
        exec "$@"' sh "$@"
}

# api-hostfwd: slirp4netns's add_hostfwd request line forwards
# 127.0.0.1:18090 to the guest's port 80: the guest's server sees the
# connection (from the gateway: a loopback client); list_hostfwd shows the
# entry; after remove_hostfwd the port refuses.
case_api_hostfwd() {
    local ready=$T/$CURRENT.ready
    pub_client "$NS_HOST" 60 "$ready" bash "$E2E_DIR/api.sh" hostfwd "$API_SOCK" "$API_HPORT" "$API_GPORT"
    api_run_opts
    g 60 "$PY" "$E2E_DIR/servers.py" pub-who --port "$API_GPORT" --count 1 --ready "$ready" --done "$ready.done"
    EXTRA_OPTS=()
    pub_client_wait
    ((G_RC == 0 && PUB_RC == 0)) || { REASON=$(pub_why); return 1; }
    grep -q "^the guest saw: $GW [0-9]*\$" "$T/$CURRENT.client.out" ||
        { REASON="client: $(tr '\n' '|' <"$T/$CURRENT.client.out")"; return 1; }
    grep -q "^who $GW [0-9]*\$" "$G_OUT" || { REASON="guest saw: $(head -n 1 "$G_OUT")"; return 1; }
}

# api-bad-input: garbage, a non-object, an unknown verb, bad arguments, a
# 1 MiB line, half a line then close and a 17th client are each answered
# or dropped (api.sh bad-input); then the guest downloads 4 MB intact and
# sandnet is still running (it exits 0 on SIGTERM in attach mode).
case_api_bad_input() {
    local ready=$T/$CURRENT.ready got
    pub_client "$NS_HOST" 90 "$ready" bash "$E2E_DIR/api.sh" bad-input "$API_SOCK"
    api_run_opts
    api_wait_then "$ready" "$ready.done" sh -c 'curl -fsS --max-time 30 "$1" | sha256sum' sh "http://$WEB/medium"
    EXTRA_OPTS=()
    pub_client_wait
    ((PUB_RC == 0)) || { REASON=$(pub_why); return 1; }
    got=$(cut -d' ' -f1 <"$G_OUT")
    [[ $G_RC == 0 && $got == "$MEDIUM_SHA" ]] || { REASON="download after the bad input: $(why)"; return 1; }
    [[ $MODE == run ]] || kill -0 "$ATTACH_PID" || { REASON="sandnet attach is gone"; return 1; }
}

# api-stats: the guest downloads 4 MB (curl), then holds a connection to
# INET's port 9000 that sent 1000 bytes: the stats verb shows exactly two
# new TCP flows and no UDP session, the bytes within the transfer's size
# plus headers; the flows verb shows the held connection (api.sh stats);
# SIGUSR1 logs the counters; the stats file (run: written on exit;
# attach: every second) says the same.
case_api_stats() {
    local ready=$T/$CURRENT.ready before=$T/$CURRENT.before want log
    if [[ $MODE == run ]]; then # a fresh engine: every counter starts at 0
        echo '{"return":{"counters":{"tcp_flows":0,"tcp_flows_active":0,"udp_sessions":0,"tcp_bytes_down":0,"tcp_bytes_up":0}}}' >"$before"
    else
        printf '{"execute": "stats"}\n' | timeout 5 nc -N -U "$API_SOCK" >"$before"
        jq -e .return.counters "$before" >/dev/null || { REASON="stats before: $(head -c 200 "$before")"; return 1; }
    fi
    pub_client "$NS_HOST" 60 "$ready" bash "$E2E_DIR/api.sh" stats "$API_SOCK" "$before" "$MEDIUM_SIZE" "$WEB" 9000
    api_run_opts
    g 60 sh -c 'curl -fsS --max-time 30 -o /dev/null "http://$2/medium" || exit 1
        exec "$1" -c "
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 9000))
s.sendall(b\"x\" * 1000)
open(sys.argv[2], \"w\").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
" "$2" "$3" "$3.done"' sh "$PY" "$WEB" "$ready"
    EXTRA_OPTS=()
    pub_client_wait
    ((G_RC == 0 && PUB_RC == 0)) || { REASON=$(pub_why); return 1; }
    want=$(($(jq -r .return.counters.tcp_flows "$before") + 2))
    log=$(api_log)
    grep -q "stats: .*tcp_flows=$want " <<<"$log" ||
        { REASON="SIGUSR1: no 'tcp_flows=$want' in the log: $(grep 'stats:' <<<"$log" | head -n 2 | tr '\n' '|')"; return 1; }
    grep -q "stats: policy default-egress: allow, allowed=" <<<"$log" ||
        { REASON="SIGUSR1: no policy counts in the log"; return 1; }
    [[ $MODE == attach ]] && sleep 1.5 # the next write of the stats file
    jq -e ".counters.tcp_flows == $want and .counters.udp_sessions == $(jq -r .return.counters.udp_sessions "$before") and
        .counters.tcp_bytes_down >= $(jq -r .return.counters.tcp_bytes_down "$before") + $MEDIUM_SIZE" \
        "$API_STATS" >/dev/null ||
        { REASON="stats file: $(head -c 300 "$API_STATS" 2>&1)"; return 1; }
}

# ---- pcap*: packet capture (--pcap FILE, --pcap-max-size), read back with tshark

# tshark_n FILE FILTER: how many frames of FILE match the display FILTER
tshark_n() { tshark -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l; }

# pcap_traffic PCAP STATS [SANDNET OPTIONS...]: the guest asks the gateway
# for www.example.test (dig) and downloads 4 MB from $WEB (curl), sandnet
# capturing to PCAP with --stats-file STATS: run mode in its own `sandnet
# run`, attach mode in an attach instance started and stopped (SIGTERM:
# the file flushed, the stats written a last time) for this case. The
# log: PCAP_LOG.
pcap_traffic() {
    local pcap=$1 stats=$2 rc
    shift 2
    rm -f -- "$pcap" "$stats"
    if [[ $MODE == run ]]; then
        EXTRA_OPTS=(--pcap "$pcap" --stats-file "$stats" "$@")
    else
        [[ -n $ATTACH_PID ]] && { attach_stop || diag "$ATTACH_STOP_ERR"; }
        ATTACH_EXTRA_OPTS=(--pcap "$pcap" --stats-file "$stats" "$@")
        attach_start 0
        rc=$?
        ATTACH_EXTRA_OPTS=()
        ((rc == 0)) || { REASON=$ATTACH_ERR; return 1; }
    fi
    g 60 sh -c 'dig +short +time=2 +tries=2 @"$1" www.example.test &&
        curl -fsS --max-time 30 -o /dev/null "http://$2/medium"' sh "$GW" "$WEB"
    rc=$?
    EXTRA_OPTS=()
    PCAP_LOG=$G_ERR
    if [[ $MODE == attach ]]; then
        PCAP_LOG=$ATTACH_LOG
        attach_stop || { REASON=$ATTACH_STOP_ERR; return 1; }
    fi
    ((rc == 0)) || { REASON="guest: $(why)"; return 1; }
    [[ -s $pcap && -s $stats ]] || { REASON="no capture ($pcap) or stats file ($stats)"; return 1; }
}

# pcap_counts PCAP STATS: the frames tshark reads from PCAP are the
# capture's count, and with the frames it did not write, the engine's
# frames_in + frames_out (every frame the engine took or output, the link
# took: no queue drops here); the file's size is the capture's file_bytes.
pcap_counts() {
    local pcap=$1 stats=$2 n want
    n=$(tshark -r "$pcap" -T fields -e frame.number 2>"$T/$CURRENT.tshark.err" | wc -l)
    want=$(jq -r '"\(.capture.frames) \(.capture.frames + .capture.dropped_by_limit + .capture.dropped_by_error) \(.counters.frames_in + .counters.frames_out) \(.capture.file_bytes)"' "$stats")
    read -r frames total engine file_bytes <<<"$want"
    ((n > 0 && n == frames)) ||
        { REASON="tshark read $n frames, the capture counted $frames: $(tail -n 1 "$T/$CURRENT.tshark.err")"; return 1; }
    ((total == engine)) ||
        { REASON="captured + dropped $total != frames_in + frames_out $engine"; return 1; }
    [[ $(stat -c %s "$pcap") == "$file_bytes" ]] ||
        { REASON="file is $(stat -c %s "$pcap") bytes, the capture counted $file_bytes"; return 1; }
    diag "$CURRENT: $n frames in the file, frames_in + frames_out $engine"
}

# pcap: the guest's DNS query and answer and its TCP handshake with $WEB are
# in the capture (tshark -r), stamped in nanoseconds (the pcap magic
# a1b23c4d), as many frames as counted (pcap_counts).
case_pcap() {
    local pcap=$T/$CURRENT.pcap stats=$T/$CURRENT.json f n
    pcap_traffic "$pcap" "$stats" || return 1
    [[ $(od -An -tx1 -N4 "$pcap" | tr -d ' ') == 4d3cb2a1 ]] ||
        { REASON="not a nanosecond pcap: magic $(od -An -tx1 -N4 "$pcap")"; return 1; }
    for f in "ip.src == 10.0.2.15 && ip.dst == $GW && udp.dstport == 53 && dns.flags.response == 0 && dns.qry.name == \"www.example.test\"" \
        "ip.src == $GW && ip.dst == 10.0.2.15 && udp.srcport == 53 && dns.flags.response == 1 && dns.a == $WEB" \
        "ip.src == 10.0.2.15 && ip.dst == $WEB && tcp.dstport == 80 && tcp.flags.syn == 1 && tcp.flags.ack == 0" \
        "ip.src == $WEB && ip.dst == 10.0.2.15 && tcp.srcport == 80 && tcp.flags.syn == 1 && tcp.flags.ack == 1"; do
        n=$(tshark_n "$pcap" "$f")
        ((n >= 1)) || { REASON="no frame in the capture matches: $f"; return 1; }
    done
    jq -e '.capture.stopped == null and .capture.dropped_by_limit == 0 and .capture.bytes > 4194304' "$stats" >/dev/null ||
        { REASON="capture stats: $(jq -c .capture "$stats")"; return 1; }
    pcap_counts "$pcap" "$stats"
}

# pcap-limit: --pcap-max-size 64K with the same traffic (over 4 MB): the
# file stays within 64 KiB and is still read whole by tshark, the log says
# once that the capture stopped, the frames not written are counted.
case_pcap_limit() {
    local pcap=$T/$CURRENT.pcap stats=$T/$CURRENT.json size
    pcap_traffic "$pcap" "$stats" --pcap-max-size 64K || return 1
    size=$(stat -c %s "$pcap")
    ((size <= 65536 && size > 24)) || { REASON="file is $size bytes, bound 65536"; return 1; }
    [[ $(grep -c 'capture stopped: --pcap-max-size 65536 bytes reached' "$PCAP_LOG") == 1 ]] ||
        { REASON="log: $(grep pcap "$PCAP_LOG" | tr '\n' '|')"; return 1; }
    jq -e '.capture.stopped == "limit" and .capture.dropped_by_limit > 0' "$stats" >/dev/null ||
        { REASON="capture stats: $(jq -c .capture "$stats")"; return 1; }
    pcap_counts "$pcap" "$stats"
}

# pcap-usage: bad --pcap and --pcap-max-size values exit 2 naming the flag
# (run, attach, slirp4netns mode); a FILE that cannot be created exits 1
# with one line, before COMMAND runs.
case_pcap_usage() {
    local args want bad='' rc
    G_OUT=$T/$CURRENT.usage.out G_ERR=$T/$CURRENT.usage.err
    while IFS='|' read -r want args; do
        # shellcheck disable=SC2086
        bounded 10 ip netns exec "$NS_HOST" "$SANDNET" $args
        rc=$?
        ((rc == 2)) && grep -q -- "$want" "$G_ERR" || bad+="'$args': exit $rc, $(head -n 1 "$G_ERR"); "
    done <<EOF
--pcap-max-size|run --pcap $T/x.pcap --pcap-max-size 12Q -- true
--pcap-max-size|run --pcap $T/x.pcap --pcap-max-size 1000 -- true
--pcap-max-size|run --pcap $T/x.pcap --pcap-max-size 99999999999999999999 -- true
--pcap-max-size|run --pcap-max-size 1M -- true
--pcap:|run --pcap= -- true
--pcap|run --pcap
--pcap-max-size|attach --netns /run/netns/$NS_HOST --pcap $T/x.pcap --pcap-max-size 1X
--pcap-max-size|slirp4netns --pcap $T/x.pcap --pcap-max-size -1 1 tap0
EOF
    [[ -z $bad ]] || { REASON=$bad; return 1; }
    G_OUT=$T/$CURRENT.open.out G_ERR=$T/$CURRENT.open.err
    bounded 20 ip netns exec "$NS_HOST" "$SANDNET" run --pcap "$T/no/such/dir/x.pcap" -- touch "$T/$CURRENT.ran"
    rc=$?
    ((rc == 1)) || { REASON="unwritable --pcap: exit $rc, want 1"; return 1; }
    [[ $(wc -l <"$G_ERR") == 1 ]] && grep -q -- "--pcap $T/no/such/dir/x.pcap: No such file or directory" "$G_ERR" ||
        { REASON="unwritable --pcap: $(tr '\n' '|' <"$G_ERR")"; return 1; }
    [[ ! -e $T/$CURRENT.ran ]] || { REASON="COMMAND ran though the capture could not be opened"; return 1; }
}

# pcap-slirp4netns: slirp4netns mode takes --pcap too: the namespace's pings
# to the gateway and their replies are in the file.
case_pcap_slirp4netns() {
    local ns=$NS_GUEST-i pcap=$T/$CURRENT.pcap log=$T/$CURRENT.log pid n=100 rc
    [[ -n $ATTACH_PID ]] && { attach_stop || diag "$ATTACH_STOP_ERR"; }
    ip netns add "$ns" || { REASON="cannot create $ns"; return 1; }
    NETNS_MADE+=("$ns")
    ip netns exec "$NS_HOST" "$SANDNET" slirp4netns --netns-type=path -c --pcap "$pcap" \
        "/run/netns/$ns" tap0 </dev/null >"$T/$CURRENT.out" 2>"$log" &
    pid=$!
    while ((n-- > 0)) && ! ip -n "$ns" -4 -o addr show dev tap0 2>/dev/null | grep -q ' 10\.0\.2\.100/'; do
        sleep 0.1
    done
    local attach_ns=$ATTACH_NS
    ATTACH_NS=$ns
    g 20 ping -n -c 3 -i 0.2 -W 2 "$GW"
    ATTACH_NS=$attach_ns
    kill -TERM "$pid"
    wait_gone 100 "$pid" || kill -KILL "$pid"
    wait "$pid"
    rc=$?
    ((G_RC == 0)) || { REASON="ping: $(why); sandnet: $(tail -n 1 "$log")"; return 1; }
    ((rc == 0)) || { REASON="slirp4netns mode exited $rc: $(tail -n 1 "$log")"; return 1; }
    n=$(tshark_n "$pcap" "ip.src == 10.0.2.100 && ip.dst == $GW && icmp.type == 8")
    ((n == 3)) || { REASON="$n echo requests in the capture, want 3"; return 1; }
    n=$(tshark_n "$pcap" "ip.src == $GW && ip.dst == 10.0.2.100 && icmp.type == 0")
    ((n == 3)) || { REASON="$n echo replies in the capture, want 3"; return 1; }
}

# ---------------------------------------------------------------- main

diag "sandnet e2e: mode $MODE, sandnet $SANDNET, namespaces $NS_HOST $NS_INET"
if ! setup; then
    for c in "${SELECTED[@]}"; do fail "$c" "setup failed: $SETUP_ERR"; done
    for f in "$T"/*.log "$T"/*.out; do diag_file setup "$f"; done
    summary
    exit 1
fi
api_paths

for c in "${SELECTED[@]}"; do
    CURRENT=$c G_N=0 REASON='' HOSTLO=0
    [[ $c == *hostlo-allowed || $c == attach-lifecycle-hostlo ]] && HOSTLO=1
    flavour=$HOSTLO
    [[ $c == dhcp-* ]] && flavour=2
    [[ $c == slaac* ]] && flavour=3
    [[ $c == dns-deny ]] && flavour=4
    [[ $c == no-ipv6 ]] && flavour=5
    [[ $c == publish-* ]] && flavour=6
    [[ $c == api-* ]] && flavour=7
    # attach-lifecycle* and pcap* start (and stop) their own instances
    if [[ $MODE == attach && $c != attach-lifecycle* && $c != pcap* ]] && ! attach_ensure "$flavour"; then
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
