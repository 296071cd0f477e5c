#!/bin/bash
# bench/vnc.sh — the VNC console's frame rate and bytes per frame for a scrolling text console
# (issue 14 item 5). A real guest: the default Debian guest (./guest, scripts/build-guest.sh) booted
# with kernel= and a stdvga; its initramfs loads bochs-drm, so fbcon draws tty1 at 1024x768x32. Its
# shell then makes tty1 scroll while an RFB client in test code (RfbUpdateCounter) asks for updates
# back to back and counts them without decoding: VncBenchMain prints, per workload (idle; a shell loop
# echoing numbered lines, with a ZRLE client and with a Raw-only client; dmesg over and over), fps,
# bytes per frame, KB/s, rectangles per frame by encoding (CopyRect/ZRLE/Raw) and the guest's lines/s.
# One boot (~2-4 min on the shared 2-core host) plus 4 x (SECONDS + ~5) s.
# Usage: bench/vnc.sh [SECONDS per workload, default 30]. Env: XENJ_GUEST_DIR (default ./guest).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${XENJ_GUEST_DIR:-$ROOT/guest}
cd "$ROOT"
scripts/build-guest.sh "$GUEST" >&2
mvn -B -o -q -pl org.xenj.hvm.qemudm -am test-compile -DskipTests >&2
M2=$( { sed -n 's/.*-Dmaven.repo.local=\([^ ]*\).*/\1/p' .mvn/maven.config 2>/dev/null || true; } | head -n1)
M2=${M2:-$HOME/.m2/repository}
jar() { ls "$M2"/$1/*/*.jar 2>/dev/null | grep -v -e sources -e javadoc | sort -V | tail -n1; }
CP=org.xenj.hypervisor/target/classes:org.xenj.dom0.block/target/classes:org.xenj.dom0.vswitch/target/classes
CP=$CP:org.xenj.dom0.vnc/target/classes:org.xenj.hvm.qemudm/target/classes:org.xenj.hvm.qemudm/target/test-classes
for j in net/java/dev/jna/jna org/ow2/asm/asm org/tukaani/xz org/osgi/osgi.core org/osgi/org.osgi.service.component \
         org/osgi/org.osgi.service.cm; do
    CP=$CP:$(jar $j)
done
echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
java -Xss8m -cp "$CP" org.xenj.hvm.qemudm.boot.VncBenchMain "$GUEST" "${1:-30}" 2>/dev/null
