#!/bin/sh
# /init of the VM test's initramfs (busybox). Parameters come from the
# kernel command line (sn.server= sn.name= sn.sha= sn.bench=); each result
# is one line "SNTEST <what> PASS|FAIL <detail>" on the serial console,
# which tests/vm/run.sh reads. Ends with a power-off, so QEMU exits.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /tmp /etc

arg() { sed -n "s/.*sn\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
SERVER=$(arg server) NAME=$(arg name) SHA=$(arg sha) BENCH=$(arg bench)
res() { echo "SNTEST $*"; }
now_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1\2/' /proc/uptime; }

# virtio-net and what it needs, in dependency order, from the Debian
# kernel's modules (those built in are not shipped, and skipped)
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
	failover net_failover virtio_net; do
	[ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up

if udhcpc -i eth0 -s /udhcpc.sh -n -q -t 5 -T 2 >/tmp/udhcpc.log 2>&1; then
	res dhcp PASS "$(cat /tmp/lease)"
else
	res dhcp FAIL "$(tail -n 1 /tmp/udhcpc.log)"
fi

# the A record; dnsmasq's NXDOMAIN for AAAA would fail the exit status
nslookup -type=a "$NAME" >/tmp/ns.log 2>&1
if grep -q "^Address:[[:space:]]*$SERVER\$" /tmp/ns.log; then
	res dns PASS "$NAME is $SERVER"
else
	res dns FAIL "$(tr '\n' ' ' </tmp/ns.log)"
fi

nc "$SERVER" 9100 </dev/null >/tmp/file 2>/tmp/nc.log
got=$(sha256sum /tmp/file | cut -d' ' -f1)
if [ "$got" = "$SHA" ]; then
	res download PASS "$(wc -c </tmp/file) bytes, sha256 matches"
else
	res download FAIL "sha256 $got, $(wc -c </tmp/file) bytes; $(cat /tmp/nc.log)"
fi

if tftp -g -r file -l /tmp/tftp "$SERVER" 2>/tmp/tftp.log &&
   [ "$(sha256sum /tmp/tftp | cut -d' ' -f1)" = "$SHA" ]; then
	res udp PASS "tftp: $(wc -c </tmp/tftp) bytes, sha256 matches"
else
	res udp FAIL "tftp: $(cat /tmp/tftp.log)"
fi

gw=$(cut -d' ' -f2 /tmp/lease 2>/dev/null)
for dst in ${gw:-10.0.2.2} "$SERVER"; do
	if ping -c 2 -W 3 "$dst" >/tmp/ping.log 2>&1; then
		res "ping-$dst" PASS "$(grep -m1 'bytes from' /tmp/ping.log)"
	else
		res "ping-$dst" FAIL "$(tail -n 2 /tmp/ping.log | tr '\n' ' ')"
	fi
done

if [ "$BENCH" = 1 ]; then
	t0=$(now_cs)
	nc "$SERVER" 9101 </dev/null >/dev/null
	t1=$(now_cs)
	res bench PASS "centiseconds $((t1 - t0)) mtu $(cat /sys/class/net/eth0/mtu)"
fi

res done PASS
sync
poweroff -f
