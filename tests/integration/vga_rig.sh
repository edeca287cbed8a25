#!/bin/sh
# Runs in the rig (or natively) for test_vga_linux.py: an L2 Linux under
# `vmkit run --vga std --tablet --monitor`, waits for the guest's READY marker
# on the serial console, takes a screenshot with `vmkit screenshot` and prints
# it base64-encoded between VMKIT-PNG-BEGIN/END, then the serial output.
# Usage: vga_rig.sh VMKIT KERNEL INITRD
vmkit=$1 kernel=$2 initrd=$3
d=$(mktemp -d)
# The rig has no console-setup-linux: the test ships the font next to this script.
[ -f "$(dirname "$0")/font.psf.gz" ] && export VMKIT_FONT="$(dirname "$0")/font.psf.gz"
"$vmkit" run --kernel "$kernel" --initrd "$initrd" --memory 256M --vga std --tablet \
	--monitor "unix:$d/mon" --console "file:$d/serial" \
	--cmdline "console=tty0 console=ttyS0 vmkit.check=vga" &
pid=$!
for i in $(seq 150); do
	grep -q VMKIT-VGA-READY "$d/serial" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
done
sleep 1 # let the console line settle on the screen
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
