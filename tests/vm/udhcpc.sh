#!/bin/sh
# busybox udhcpc's event script in the VM test: configure eth0 from the
# lease (address, prefix, MTU option 26, router, DNS) and note it.
case "$1" in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
	ip route add default via "${router%% *}" dev "$interface"
	echo "nameserver ${dns%% *}" >/etc/resolv.conf
	echo "$ip ${router%% *} ${dns%% *} mtu=${mtu:-none}" >/tmp/lease
	;;
esac
exit 0
