#!/bin/bash
# bench/bios-boot.sh — firmware boot from an IDE disk: xenj (SeaBIOS + PIIX3 IDE + syslinux) against
# QEMU TCG booting the same image (peers.sh's "qemu-disk": -M pc -m 256 -nographic -drive if=ide), in
# one run, one after the other. The image is scripts/make-bios-images.sh's syslinux disk (the layout
# peers.sh makes for qemu-disk and bochs) over the benchmark guest of shared/bench/build-linux-guest.sh
# with its command line; the guest's /init prints @@BENCH markers. Measured as peers.sh does:
#   boot_s = process start -> "@@BENCH BOOT" (BIOS, syslinux loading kernel+initrd through int 13h,
#            kernel boot); work_s = BOOT -> "@@BENCH WORK-END".
# Prints one line per machine and the ratio. Env: BENCH_GUEST (default ${TMPDIR:-/tmp}/xenj-bench-guest),
# XENJ_SHARED (../shared), BENCH_TIMEOUT seconds (default 1800), RUNS (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${XENJ_SHARED:-$ROOT/../shared}
GUEST=${BENCH_GUEST:-${TMPDIR:-/tmp}/xenj-bench-guest}
[ -s "$GUEST/bzImage" ] && [ -s "$GUEST/cmdline" ] || "$SHARED/bench/build-linux-guest.sh" "$GUEST" >&2
IMG=$(mktemp -d)
trap 'rm -rf "$IMG"' EXIT
"$ROOT/scripts/make-bios-images.sh" "$GUEST" "$IMG" "$(cat "$GUEST/cmdline")" >&2
DISK=$IMG/disk.img

cd "$ROOT"
mvn -B -o -q -pl org.xenj.hypervisor,org.xenj.hvm.qemudm -am test-compile -DskipTests >&2
M2=$( { sed -n 's/.*-Dmaven.repo.local=\([^ ]*\).*/\1/p' .mvn/maven.config 2>/dev/null || true; } | head -n1)
M2=${M2:-$HOME/.m2/repository}
CP=org.xenj.hypervisor/target/classes:org.xenj.dom0.block/target/classes:org.xenj.dom0.vswitch/target/classes
CP=$CP:org.xenj.dom0.vnc/target/classes:org.xenj.hvm.qemudm/target/classes:org.xenj.hvm.qemudm/target/test-classes
# qemu-dm registers its displays through the OSGi framework API (org.xenj.dom0.vnc): the jars it needs outside OSGi
jar() { ls "$M2"/$1/*/*.jar 2>/dev/null | grep -v -e sources -e javadoc | sort -V | tail -n1; }
for j in net/java/dev/jna/jna org/ow2/asm/asm org/tukaani/xz org/osgi/osgi.core org/osgi/org.osgi.service.component \
         org/osgi/org.osgi.service.cm; do
    CP=$CP:$(jar $j)
done

qemu_disk() {   # prints "qemu-disk boot_s=.. work_s=.."
    local S B="" W="" line
    S=$EPOCHREALTIME
    while IFS= read -r line; do
        case $line in
            *"@@BENCH BOOT"*) B=$EPOCHREALTIME ;;
            *"@@BENCH WORK-END"*) W=$EPOCHREALTIME ;;
        esac
    done < <(timeout "${BENCH_TIMEOUT:-1800}" qemu-system-i386 -M pc -m 256 -nographic -no-reboot \
        -drive file="$DISK",format=raw,if=ide,snapshot=on 2>&1 </dev/null)
    awk -v s="$S" -v b="$B" -v w="$W" 'BEGIN { printf "qemu-disk boot_s=%s work_s=%s\n",
        b == "" ? "NA" : sprintf("%.2f", b - s), (w == "" || b == "") ? "NA" : sprintf("%.2f", w - b) }'
}

for run in $(seq "${RUNS:-1}"); do
    echo "# run $run: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    Q=$(qemu_disk)
    echo "$Q"
    X=$(java -Xss8m -Dxenj.bench.disk="$DISK" -cp "$CP" org.xenj.hvm.qemudm.boot.BenchMain "$GUEST" \
        77377273b0a4b61febdbf7bbf52b9db9 "${BENCH_TIMEOUT:-1800}" | tail -n1 | sed 's/^xenj /xenj-bios-disk /')
    echo "$X"
    qb=$(sed -n 's/.*boot_s=\([^ ]*\).*/\1/p' <<<"$Q"); xb=$(sed -n 's/.*boot_s=\([^ ]*\).*/\1/p' <<<"$X")
    qw=$(sed -n 's/.*work_s=\([^ ]*\).*/\1/p' <<<"$Q"); xw=$(sed -n 's/.*work_s=\([^ ]*\).*/\1/p' <<<"$X")
    awk -v qb="$qb" -v xb="$xb" -v qw="$qw" -v xw="$xw" 'BEGIN {
        printf "xenj-bios-disk/qemu-disk boot=%sx work=%sx\n",
            (qb + 0 == 0 || xb == "NA") ? "NA" : sprintf("%.2f", xb / qb),
            (qw + 0 == 0 || xw == "NA") ? "NA" : sprintf("%.2f", xw / qw) }'
done
