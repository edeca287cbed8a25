#!/bin/sh
# Runs in the rig (or natively) for test_vga_linux.py: a Linux guest under
# `vmkit run --vga std --tablet --monitor`, waits for the guest's READY marker
# on the serial console, takes a screenshot with `vmkit screenshot` and prints
# it base64-encoded between VMKIT-PNG-BEGIN/END, then the serial output.
# Usage: vga_rig.sh VMKIT KERNEL INITRD CMDLINE READY-MARKER
vmkit=$1 kernel=$2 initrd=$3 cmdline=$4 ready=$5
d=$(mktemp -d)
# The rig has no console-setup-linux: the test ships the font next to this script.
[ -f "$(dirname "$0")/font.psf.gz" ] && export VMKIT_FONT="$(dirname "$0")/font.psf.gz"
"$vmkit" run --kernel "$kernel" --initrd "$initrd" --memory 512M --vga std --tablet \
	--monitor "unix:$d/mon" --console "file:$d/serial" --cmdline "$cmdline" &
pid=$!
for i in $(seq 200); do
	grep -q "$ready" "$d/serial" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
done
sleep 2 # let the console settle on the screen
"$vmkit" screenshot --socket "$d/mon" "$d/screen.png"
echo "VMKIT-SHOT status=$?"
echo "VMKIT-PNG-BEGIN"
base64 "$d/screen.png"
echo "VMKIT-PNG-END"
wait $pid
s=$?
cat "$d/serial"
rm -rf "$d"
exit $s
