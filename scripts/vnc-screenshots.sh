#!/bin/bash
# scripts/vnc-screenshots.sh — makes the two screenshots in org.xenj.dom0.vnc/docs by running the firmware
# boot test that checks them (BiosDiskBootTest, no boot of its own): its isolinux CD domain has a stdvga
# and a VNC console; the picture taken while isolinux loads the kernel (SeaBIOS's and isolinux's text on
# the VGA BIOS's 80x25 text screen) becomes seabios.png, the one taken at the shell (Linux's bochs-drm,
# fbcon with the kernel's messages and a line written to tty1) linux-console.png. Both are what
# xen:screenshot writes (the VNC console's own picture); the test also checks them against Debian's
# vncsnapshot and tesseract. A few minutes on a quiet 2-core host.
# Usage: scripts/vnc-screenshots.sh [OUT_DIR] (default org.xenj.dom0.vnc/docs).
# Env: XENJ_GUEST_DIR (default ./guest), MAVEN_OFFLINE (default -o).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-org.xenj.dom0.vnc/docs}")
GUEST=${XENJ_GUEST_DIR:-$PWD/guest}
scripts/build-guest.sh "$GUEST"
mkdir -p "$OUT"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! mvn -B ${MAVEN_OFFLINE--o} -q -pl org.xenj.hvm.qemudm -am test -Dtest=BiosDiskBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.guest.dir="$GUEST" -Dxenj.boot.timeout=1200 -Dxenj.screens.dir="$OUT" >"$LOG" 2>&1; then
    tail -n 60 "$LOG"; echo "vnc-screenshots: BiosDiskBootTest failed" >&2; exit 1
fi
grep '^\[bios-boot\]' "$LOG"
ls -l "$OUT"/seabios.png "$OUT"/linux-console.png
