#!/usr/bin/env bash
# sandnet VM test: a real virtual machine on `sandnet serve`.
#
#   bash tests/vm/run.sh --sandnet PATH --cache DIR [--bench [--passt PATH] [--rounds N]] [--keep]
#
# QEMU (Debian's qemu-system-x86, TCG: no KVM needed) boots
# Debian's kernel, extracted with dpkg-deb -x from the linux-image package
# (apt-get download into DIR, once; never installed), with an initramfs
# made here: busybox-static, virtio-net and the modules it needs from that
# package, tests/vm/init.sh as /init. The VM's NIC (virtio-net-pci) is
# connected to `sandnet serve`; inside, udhcpc configures it, nslookup
# resolves a name through the gateway, nc downloads a file and tftp fetches
# it again over UDP (sha256 checked), ping reaches the gateway and the
# stand-in internet; each result is a "SNTEST" line on the serial console,
# read here.
#
# Topology, on documentation addresses, nothing in the initial namespace:
#
#   VM (10.0.2.15) ==unix socket== sandnet serve in HOST 198.51.100.2
#       --veth-- INET 198.51.100.1, on lo 192.0.2.10 (vmservers.py) and
#       192.0.2.53 (dnsmasq: vm.example.test is 192.0.2.10)
#
# Cases:
#   stream         serve --socket; QEMU -netdev stream
#   stream-reset   the guest gone, serve holds as many fds (of each kind) as
#                  before it came: nothing of its flows is left
#   stream-again   a second VM on the same serve process
#   stream-exit    SIGTERM: serve exits 0 and removes its socket
#   dgram          serve --dgram; QEMU -netdev dgram
#   dgram-again    a second VM from another address: a new guest, a fresh
#                  engine, its first datagram not lost
# --bench: download throughput (256 MiB, nc in the VM, timed there) through
# serve --socket and through passt --socket (/opt/peers/bin/passt if there,
# else Debian's), same run, guest MTU 65520 and 1500, N rounds (default 3)
# interleaved, medians. Under TCG the guest's emulated CPU bounds both.
#
# Prints "PASS name" or "FAIL name: reason" per case, then "N passed, N
# failed"; exits 0 only if every case passed.

set -u

VM_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: $0 --sandnet PATH --cache DIR [--bench [--passt PATH] [--rounds N]] [--keep]" >&2
    exit 2
}

SANDNET='' CACHE='' BENCH=0 PASST='' KEEP=0 ROUNDS=3
while (($#)); do
    case $1 in
    --sandnet) (($# >= 2)) || usage; SANDNET=$2; shift 2 ;;
    --cache) (($# >= 2)) || usage; CACHE=$2; shift 2 ;;
    --bench) BENCH=1; shift ;;
    --passt) (($# >= 2)) || usage; PASST=$2; shift 2 ;;
    --rounds) (($# >= 2)) || usage; ROUNDS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) usage ;;
    esac
done
[[ -n $SANDNET && -n $CACHE ]] || usage

SERVER=192.0.2.10
DNS_UP=192.0.2.53
NAME=vm.example.test
HOST_ADDR=198.51.100.2
INET_ADDR=198.51.100.1
BOOT_LIMIT=150 # seconds one VM may run (TCG, slow machine)
BENCH_MB=256   # MiB the --bench download takes

NS_HOST=snvm-host-$$
NS_INET=snvm-inet-$$

PASSED=0 FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: ${2//$'\n'/ | }"; FAILED=$((FAILED + 1)); }
summary() { echo "$PASSED passed, $FAILED failed"; }
# diag, wait_gone, end_pids, must, wait_for: the e2e suites' helpers
# shellcheck source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

T='' BG_PIDS=() NETNS_MADE=() ETC_NETNS_MADE=()

cleanup() {
    trap - EXIT INT TERM HUP
    ((${#BG_PIDS[@]})) && end_pids "${BG_PIDS[@]}"
    local ns pids
    for ns in "${NETNS_MADE[@]}"; do
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        # shellcheck disable=SC2086
        [[ -n ${pids// /} ]] && end_pids $pids
        ip netns del "$ns" 2>/dev/null
    done
    for ns in "${ETC_NETNS_MADE[@]}"; do rm -rf -- "/etc/netns/$ns"; done
    rmdir /etc/netns 2>/dev/null
    if [[ -n $T && -d $T ]]; then
        if ((KEEP)); then diag "kept $T"; else rm -rf -- "$T"; fi
    fi
    return 0
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'fail harness "interrupted"; summary; exit 130' INT TERM HUP

prereq_fail() {
    fail prerequisites "$1"
    summary
    exit 1
}

# ---------------------------------------------------------------- prerequisites

missing=()
for tool in qemu-system-x86_64 busybox cpio gzip dpkg-deb apt-get apt-cache ip python3 dnsmasq dig \
    sha256sum timeout mkfifo find awk sed grep; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || prereq_fail "missing tools: ${missing[*]} (need qemu-system-x86, busybox-static, cpio, dnsmasq-base, bind9-dnsutils, iproute2, python3)"
((EUID == 0)) || prereq_fail "must run as root (creates network namespaces)"
BUSYBOX=$(command -v busybox)
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    prereq_fail "$BUSYBOX is not static (install busybox-static)"
fi
case $SANDNET in /*) ;; *) SANDNET=$PWD/$SANDNET ;; esac
[[ -x $SANDNET ]] || prereq_fail "sandnet not found: $SANDNET"
if ((BENCH)) && [[ -z $PASST ]]; then
    for p in /opt/peers/bin/passt "$(command -v passt)"; do
        [[ -x $p ]] && { PASST=$p; break; }
    done
fi

# ---------------------------------------------------------------- the kernel

# kernel_fetch: $CACHE/kernel/{vmlinuz,modules/*.ko,VERSION} from Debian's
# linux-image package (the one linux-image-amd64 depends on), once
kernel_fetch() {
    local k=$CACHE/kernel pkg dl deb mods m
    [[ -s $k/vmlinuz && -s $k/modules/virtio_net.ko ]] && return 0
    mkdir -p "$CACHE" || return 1
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [[ -n $pkg ]] || { diag "apt-cache knows no linux-image-amd64 (apt-get update?)"; return 1; }
    dl=$(mktemp -d "$CACHE/dl.XXXXXX") || return 1
    # apt's download sandbox user cannot write to a build tree under /root
    if ! (cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$pkg") >"$dl/apt.log" 2>&1; then
        diag "apt-get download $pkg failed: $(tail -n 1 "$dl/apt.log")"
        rm -rf -- "$dl"
        return 1
    fi
    deb=("$dl"/*.deb)
    dpkg-deb -x "${deb[0]}" "$dl/root" || { rm -rf -- "$dl"; return 1; }
    rm -rf -- "$k.new" && mkdir -p "$k.new/modules"
    cp "$dl"/root/boot/vmlinuz-* "$k.new/vmlinuz" || { rm -rf -- "$dl"; return 1; }
    mods=$(find "$dl"/root/lib/modules -type d -name kernel | head -n 1)
    for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
        failover net_failover virtio_net; do
        # built-in ones (=y in the package's config) have no .ko: init.sh skips them
        find "$mods" -name "$m.ko" -exec cp {} "$k.new/modules/" \;
    done
    echo "$pkg" >"$k.new/VERSION"
    rm -rf -- "$k" && mv "$k.new" "$k"
    rm -rf -- "$dl"
    [[ -s $k/modules/virtio_net.ko ]]
}

# initramfs OUT: busybox, the modules, init.sh, udhcpc.sh, as a gzip'd cpio
initramfs() {
    local r=$T/initramfs
    rm -rf -- "$r"
    mkdir -p "$r"/{bin,lib/modules,proc,sys,dev,tmp,etc} || return 1
    cp "$BUSYBOX" "$r/bin/busybox" && ln -s busybox "$r/bin/sh" &&
        cp "$CACHE"/kernel/modules/*.ko "$r/lib/modules/" &&
        install -m 755 "$VM_DIR/init.sh" "$r/init" &&
        install -m 755 "$VM_DIR/udhcpc.sh" "$r/udhcpc.sh" || return 1
    (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$1"
}

# ---------------------------------------------------------------- topology

SETUP_ERR=''
dns_up() {
    [[ $(ip netns exec "$NS_INET" dig @"$DNS_UP" "$NAME" A +short +time=1 +tries=1 2>/dev/null) == "$SERVER" ]]
}
setup() {
    T=$(mktemp -d /tmp/snvm-$$.XXXXXX) || return 1
    must "HOST" ip netns add "$NS_HOST" || return 1
    NETNS_MADE+=("$NS_HOST")
    must "INET" ip netns add "$NS_INET" || return 1
    NETNS_MADE+=("$NS_INET")
    local h=(ip -n "$NS_HOST") i=(ip -n "$NS_INET") a
    must "HOST lo" "${h[@]}" link set lo up || return 1
    must "INET lo" "${i[@]}" link set lo up || return 1
    must "veth" "${h[@]}" link add veth-inet type veth peer name veth-host netns "$NS_INET" || return 1
    must "HOST addr" "${h[@]}" addr add "$HOST_ADDR/24" dev veth-inet || return 1
    must "INET addr" "${i[@]}" addr add "$INET_ADDR/24" dev veth-host || return 1
    must "HOST up" "${h[@]}" link set veth-inet up || return 1
    must "INET up" "${i[@]}" link set veth-host up || return 1
    must "HOST route" "${h[@]}" route add default via "$INET_ADDR" || return 1
    for a in "$SERVER" "$DNS_UP"; do
        must "INET $a" "${i[@]}" addr add "$a/32" dev lo || return 1
    done
    # ping sockets for the relayed echo, inside HOST only
    must "ping_group_range" ip netns exec "$NS_HOST" \
        sh -c 'echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range' || return 1
    # what passt reads as the host's resolver (sandnet gets --dns-upstream)
    mkdir -p "/etc/netns/$NS_HOST" && ETC_NETNS_MADE+=("$NS_HOST")
    echo "nameserver $DNS_UP" >"/etc/netns/$NS_HOST/resolv.conf"

    head -c 1000000 /dev/urandom >"$T/file"
    SHA=$(sha256sum <"$T/file" | cut -d' ' -f1)
    ip netns exec "$NS_INET" python3 "$VM_DIR/vmservers.py" --addr "$SERVER" --file "$T/file" \
        --ready "$T/servers.ready" --bench-bytes $((BENCH_MB << 20)) </dev/null >"$T/servers.log" 2>&1 &
    BG_PIDS+=($!)
    ip netns exec "$NS_INET" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --bind-interfaces --listen-address="$DNS_UP" --port=53 --user=root \
        --group=root --local=/example.test/ "--address=/$NAME/$SERVER" \
        </dev/null >"$T/dnsmasq.log" 2>&1 &
    BG_PIDS+=($!)
    wait_for 100 "servers" test -s "$T/servers.ready" || return 1
    wait_for 100 "dnsmasq" dns_up || return 1
    initramfs "$T/initrd.gz" || { SETUP_ERR="initramfs"; return 1; }
}

# ---------------------------------------------------------------- serve and boot

SERVE_PID=''
# serve_start LOG ARGS...: sandnet serve in HOST; returns once it says ready
# (--ready-fd: a byte on a FIFO, no sleeping)
serve_start() {
    local log=$1 fifo=$T/ready.$RANDOM
    shift
    mkfifo "$fifo" || return 1
    ip netns exec "$NS_HOST" "$SANDNET" serve "$@" --dns-upstream "$DNS_UP" --ready-fd 3 -v \
        3>"$fifo" </dev/null >"$log" 2>&1 &
    SERVE_PID=$!
    BG_PIDS+=("$SERVE_PID")
    local byte=''
    read -r -t 20 -n 1 byte <"$fifo"
    rm -f -- "$fifo"
    [[ $byte == R ]]
}

# TCG: these machines' /dev/kvm (nested) hangs a guest or fails its MSRs
ACCEL=(-accel tcg)

# boot NAME NETDEV [BENCH]: run one VM to its power-off; console in $T/NAME.console
boot() {
    local name=$1 netdev=$2 bench=${3:-0}
    timeout -k 5 "$BOOT_LIMIT" ip netns exec "$NS_HOST" qemu-system-x86_64 \
        "${ACCEL[@]}" -m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$CACHE/kernel/vmlinuz" -initrd "$T/initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet sn.server=$SERVER sn.name=$NAME sn.sha=$SHA sn.bench=$bench" \
        -serial "file:$T/$name.console" \
        -netdev "$netdev" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
        </dev/null >"$T/$name.qemu.log" 2>&1
}

# vm_failed NAME: why the console of VM NAME is not all PASS through
# "done"; nothing if it is
vm_failed() {
    local c=$T/$1.console bad
    if ! grep -q '^SNTEST done PASS' "$c" 2>/dev/null; then
        echo "the VM did not finish: $(tail -n 3 "$c" 2>/dev/null | tr -d '\r' | tr '\n' ' ') $(tail -n 2 "$T/$1.qemu.log" 2>/dev/null)"
        return
    fi
    bad=$(grep '^SNTEST .* FAIL' "$c" | tr -d '\r')
    [[ -z $bad ]] || echo "$bad"
}

# results NAME CASE: CASE passes if VM NAME's results all passed
results() {
    local why
    why=$(vm_failed "$1")
    if [[ -n $why ]]; then
        fail "$2" "$why"
        return 1
    fi
    grep '^SNTEST' "$T/$1.console" | tr -d '\r' | sed 's/^/# /' >&2
    pass "$2"
}

# fd_kinds PID: "N kind" per kind of open fd (socket, anon_inode:..., file)
fd_kinds() {
    local f t
    for f in /proc/"$1"/fd/*; do
        t=$(readlink "$f") || continue
        case $t in socket:* | pipe:*) t=${t%%:*} ;; /*) t=file ;; esac
        echo "$t"
    done | sort | uniq -c | tr -s ' '
}

# ---------------------------------------------------------------- cases

case_stream() {
    local sock=$T/sn.sock before after
    if ! serve_start "$T/serve-stream.log" --socket "$sock"; then
        fail stream "serve did not get ready: $(tail -n 2 "$T/serve-stream.log")"
        return
    fi
    [[ -S $sock ]] || { fail stream "no socket at $sock once ready"; return; }
    # the engine's own fds before any guest (netlink, epoll, signalfd, ...)
    before=$(fd_kinds "$SERVE_PID") # ip netns exec execs sandnet: same pid
    boot stream "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
    results stream stream

    local n=100
    while ((n-- > 0)) && ! grep -q 'engine reset for the next guest' "$T/serve-stream.log"; do
        sleep 0.1
    done
    after=$(fd_kinds "$SERVE_PID")
    if ! grep -q 'engine reset for the next guest' "$T/serve-stream.log"; then
        fail stream-reset "serve did not reset after the guest left: $(tail -n 2 "$T/serve-stream.log")"
    elif [[ $before != "$after" ]]; then
        fail stream-reset "fds before the first guest: $(echo $before); after it left: $(echo $after)"
    else
        pass stream-reset
        diag "serve's fds between guests: $(echo $after)"
    fi

    boot stream-again "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
    results stream-again stream-again

    kill -TERM "$SERVE_PID"
    if wait_gone 100 "$SERVE_PID"; then
        wait "$SERVE_PID"
        local rc=$?
        if ((rc != 0)); then
            fail stream-exit "exit status $rc"
        elif [[ -e $sock ]]; then
            fail stream-exit "$sock left behind"
        else
            pass stream-exit
        fi
    else
        fail stream-exit "still running 10 s after SIGTERM"
    fi
}

case_dgram() {
    local sock=$T/sn-dgram.sock
    if ! serve_start "$T/serve-dgram.log" --dgram "$sock"; then
        fail dgram "serve did not get ready: $(tail -n 2 "$T/serve-dgram.log")"
        return
    fi
    boot dgram "dgram,id=n0,local.type=unix,local.path=$T/vm-dgram.sock,remote.type=unix,remote.path=$sock"
    results dgram dgram
    # a VM started again elsewhere: its first datagram ends the old guest
    boot dgram-again "dgram,id=n0,local.type=unix,local.path=$T/vm-dgram2.sock,remote.type=unix,remote.path=$sock"
    if ! grep -q 'engine reset for the next guest' "$T/serve-dgram.log"; then
        fail dgram-again "the new peer was served without a reset: $(tail -n 3 "$T/serve-dgram.log")"
    else
        results dgram-again dgram-again
    fi
    end_pids "$SERVE_PID"
}

# bench_one LABEL NETDEV: one VM's download, "LABEL MB/s MTU" appended to $T/bench.raw
bench_one() {
    boot "bench-$1" "$2" 1
    local l cs mtu
    l=$(grep -m1 '^SNTEST bench PASS' "$T/bench-$1.console" | tr -d '\r')
    cs=$(awk '{ print $5 }' <<<"$l")
    mtu=$(awk '{ print $7 }' <<<"$l")
    if [[ -z $cs ]]; then
        diag "bench $1: $(tail -n 3 "$T/bench-$1.console" | tr -d '\r')"
        return
    fi
    awk -v l="$1" -v cs="$cs" -v mtu="$mtu" -v mb="$BENCH_MB" \
        'BEGIN { printf "%s %.1f %s\n", l, mb * 1.048576 / (cs / 100), mtu }' >>"$T/bench.raw"
}

case_bench() {
    local mtu r sock=$T/bench.sock
    : >"$T/bench.raw"
    for ((r = 1; r <= ROUNDS; r++)); do
        for mtu in 65520 1500; do
            if serve_start "$T/serve-bench-$mtu.log" --socket "$sock" --mtu "$mtu"; then
                bench_one "sandnet-serve-$mtu" "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
                end_pids "$SERVE_PID"
            fi
            [[ -n $PASST ]] || continue
            rm -f -- "$T/passt.sock"
            ip netns exec "$NS_HOST" "$PASST" -f -1 -s "$T/passt.sock" --mtu "$mtu" \
                </dev/null >"$T/passt-$mtu.log" 2>&1 &
            BG_PIDS+=($!)
            if wait_for 100 "passt" test -S "$T/passt.sock"; then
                bench_one "passt-$mtu" "stream,id=n0,server=off,addr.type=unix,addr.path=$T/passt.sock"
            else
                diag "passt --mtu $mtu did not start: $(tail -n 1 "$T/passt-$mtu.log")"
            fi
        done
    done
    echo "BENCH $BENCH_MB MiB download in the VM (TCG), MB/s, median of $ROUNDS (all rounds):"
    sort -k1,1 -s "$T/bench.raw" | awk '
        { v[$1] = v[$1] " " $2; n[$1]++; mtu[$1] = $3 }
        END { for (k in v) { m = split(substr(v[k], 2), a, " ");
                  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                  printf "BENCH %-20s guest MTU %-5s median %6.1f  (%s)\n", k, mtu[k], a[int((m + 1) / 2)], substr(v[k], 2) } }' | sort
    [[ -n $PASST ]] && diag "passt: $PASST ($("$PASST" --version 2>/dev/null | head -n 1))"
}

# ---------------------------------------------------------------- main

if ! kernel_fetch; then
    prereq_fail "cannot get Debian's kernel into $CACHE/kernel (apt-get download linux-image-*)"
fi
diag "kernel: $(cat "$CACHE/kernel/VERSION"), modules: $(cd "$CACHE/kernel/modules" && echo *.ko)"
if ! setup; then
    fail setup "$SETUP_ERR"
    summary
    exit 1
fi
start=$SECONDS
case_stream
case_dgram
((BENCH)) && case_bench
diag "VM cases took $((SECONDS - start)) s"
summary
((FAILED == 0))
