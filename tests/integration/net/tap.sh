#!/bin/sh
# L1 side of the net-tap test: a peer in its own network namespace, bridged
# to vmkit's tap interface; the guest pings it, sends it MIB MiB and fetches
# MIB MiB from it, sha256-checked on both ends.
# usage: tap.sh VMKIT KERNEL INITRD DIR QUEUES CPUS MIB
#   DIR holds checks.cpio.gz and iproute2's ip with its libraries (the rig's
#   busybox ip cannot make veth pairs).
vmkit=$1 kernel=$2 initrd=$3 dir=$4 queues=$5 cpus=$6 mib=$7
# Everything happens in private mount and network namespaces: natively the
# host's network and /tmp are left alone, and in the rig a re-run after a
# kill at the time limit (no clean-up ran) starts without the killed run's
# vmtap0 and bridge (they would make TUNSETIFF fail with EBUSY).
if [ -z "$VMKIT_NET_PRIVATE" ]; then
	VMKIT_NET_PRIVATE=1 exec unshare -m -n sh "$0" "$@"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bb= # busybox applets (httpd, nc -l -p): the rig's L1 is busybox; a host has busybox-static
[ -f /rig/cmd ] || bb=busybox
export LD_LIBRARY_PATH=$dir
ip() { "$dir/ip" "$@"; }
mq=
[ "$queues" -gt 1 ] && mq=multi_queue
set -e
ip link set lo up
ip tuntap add dev vmtap0 mode tap vnet_hdr $mq
ip link add br0 type bridge
ip link add veth0 type veth peer name veth1
ip link set vmtap0 master br0
ip link set veth0 master br0
for l in vmtap0 br0 veth0; do ip link set $l up; done
unshare -n sleep 600 &
peer=$!
sleep 0.2
ip link set veth1 netns $peer
in_peer() { nsenter -t $peer -n "$@"; }
in_peer "$dir/ip" link set lo up
in_peer "$dir/ip" addr add 192.168.77.1/24 dev veth1
in_peer "$dir/ip" link set veth1 up
set +e
dd if=/dev/urandom of=$work/down bs=1M count=$mib 2>/dev/null
echo "VMKIT-L1 down sha256=$(sha256sum $work/down | cut -d' ' -f1)"
# The receiving nc's stdin must not hit EOF (nc half-closes, and the sender
# stops at the peer's FIN): a fifo opened read-write never ends.
mkfifo $work/hold
in_peer $bb nc -l -p 5000 <>$work/hold >$work/up &
up=$!
in_peer $bb nc -l -p 5001 <$work/down &
down=$!
cat "$initrd" "$dir/checks.cpio.gz" >$work/l2-net.img
"$vmkit" run --kernel "$kernel" --initrd $work/l2-net.img --memory 512M --cpus "$cpus" --console stdio \
	--net "tap=vmtap0,queues=$queues" --cmdline "console=ttyS0 quiet vmkit.check=net-tap net.mib=$mib" </dev/null
s=$?
# The guest is gone: a receiver still waiting now never gets its data (the
# guest could not connect, or powered off mid-transfer). Give it a moment to
# finish writing, then stop it, so that a failure shows the guest's output
# instead of a kill at the time limit.
i=0
while kill -0 $up 2>/dev/null && [ $i -lt 10 ]; do sleep 0.5; i=$((i + 1)); done
kill $up 2>/dev/null
wait $up
echo "VMKIT-L1 up sha256=$(sha256sum $work/up | cut -d' ' -f1) bytes=$(wc -c <$work/up)"
kill $down $peer 2>/dev/null # (the links go with the private namespace)
exit $s
