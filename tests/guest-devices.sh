#!/bin/bash
# tests/guest-devices.sh — every emulated and split device, driven by Linux's own drivers, in one
# boot of two Debian guests at once (two pCPUs; pv runs the 686-pae kernel, pc the non-PAE 686 one) on the whole Domain 0 stack as Karaf wires it:
#   pv (xen_platform_pci=1, PVHVM): finds Xen (CPUID, hypercalls, callback vector, xenbus, platform
#      PCI device, port 0xe9); unplugs the IDE disks qemu-dm had opened and xen-blkfront takes them
#      over from blkback: xvda raw ext4, xvdb qcow2 overlay (4-page ring, indirect requests, flushes),
#      xvdc hot-plugged and detached; xen-netfront on xenbr0, a vif hot-plugged and detached;
#      xen-fbfront and xen-kbdfront (built into Debian's 686-pae kernel) on Domain 0's vfb/vkbd
#      backend (vfb = [ 'vnc=1' ]): tty1's text read back over VNC by vncsnapshot and tesseract,
#      keys typed over VNC reach a shell on tty1 through vkbd.
#   pc (xen_platform_pci=0, a bare PC): finds no hypervisor; ata_piix on the PIIX3 IDE (ext4 sda,
#      64 MiB O_DIRECT dd on sdb with MB/s printed, ISO9660 sr0); 8139too and ne2k-pci on xenbr0;
#      sr0 gets xen:cd-eject ("No medium found") and xen:cd-insert of a second ISO, kept across the
#      qemu-dm hand-over.
# The guests ping each other through every NIC; where a TAP and a network namespace can be made,
# both fetch a 16 MiB file from python3's http.server in the namespace (pv through netfront, pc
# through the RTL8139 and, on the second subnet, the NE2000) and the namespace fetches it back
# from busybox httpd in pv; qemu-dm is handed over while both run and the NICs and the CD-ROM go
# on working; pv (PVHVM) is saved through Xen's suspend protocol (control/shutdown=suspend, the kernel suspends
# blkfront/netfront and calls SCHEDOP_shutdown(SHUTDOWN_suspend)) and restored: the hypercall returns 0 in a new
# domain, blkfront and netfront reconnect to new backends (md5 of a file on xvda, pings to pc); pc is saved (xen save) in the middle of a loop of direct reads from sdb and restored: every md5 right, sda ext4 written after, pings through both NICs;
# then pc is live-migrated to localhost (xen migrate: pre-copy rounds, stop, downtime printed) in the middle of another such loop, with the same checks;
# then pv (PVHVM) is live-migrated to a second xenj (its own qemu-dm, blkback, netback on the same block layer and switch): pre-copy
# rounds, Xen's suspend protocol at the stop, the source's backends let go of the images before the destination's open them, the
# frontends reconnect there (md5 of a file on xvda written before, 5/5 pings, the source copy gone; downtime, rounds, MB, MB/s printed);
# blkback and netback are replaced three times each under pv while it writes and
# reads back 16 MiB on xvda and pings (md5s equal, no ping lost, no frontend reconnect); after poweroff the host's e2fsck, debugfs and qemu-img check what the guests wrote. Runs GuestDevicesBootTest (one surefire test
# per step). Never touches the host's interfaces.
# Both guests' clocks are checked too: TSC taken at 1000 MHz as CPUID tells it, clocksource tsc (or
# xen on pv), uptime and wall clock within 1 % of the host's across all the checks (ClockChecks).
# Then the same 686-pae kernel boots once more as type="pvh" (PvhBootTest: the bzImage's xz vmlinux
# entered at PHYS32_ENTRY with hvm_start_info, no device model, the shell on hvc0), a short boot
# with no devices.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae, built with KERNEL_FLAVOUR=686-pae), XENJ_GUEST_DIR
# (pc's guest, default ./guest: scripts/build-guest.sh's default 686 build, as tests/boot-linux.sh
# uses; a given directory is used as it is, e.g. a 686-pae build to boot pc with that instead), XENJ_BOOT_TIMEOUT seconds to the
# prompts (default 1500), XENJ_GUEST_ACPI=true boots both guests with apic=1 acpi=1 (ACPI tables; default false).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
# a given XENJ_GUEST_DIR is used as it is: building it here with the default flavour would turn a
# 686-pae build into a 686 one
PC_GUEST=${XENJ_GUEST_DIR:-$PWD/guest}
[ -n "${XENJ_GUEST_DIR:-}" ] || scripts/build-guest.sh "$PC_GUEST"
for opt in CONFIG_XEN_BLKDEV_FRONTEND CONFIG_XEN_NETDEV_FRONTEND CONFIG_ATA_PIIX CONFIG_XEN_FBDEV_FRONTEND CONFIG_INPUT_XEN_KBDDEV_FRONTEND; do
    grep -q "^$opt=[ym]" "$GUEST/config" || { echo "guest-devices: $GUEST/config lacks $opt" >&2; exit 1; }
done
for opt in CONFIG_ATA_PIIX CONFIG_8139TOO CONFIG_NE2K_PCI; do
    grep -q "^$opt=[ym]" "$PC_GUEST/config" || { echo "guest-devices: $PC_GUEST/config lacks $opt" >&2; exit 1; }
done
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.itest.guests GuestDevicesBootTest PvhBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.itest.guests -am test \
  -Dtest=GuestDevicesBootTest,PvhBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.pvhvm.dir="$GUEST" -Dxenj.pvh.dir="$GUEST" -Dxenj.pc.dir="$PC_GUEST" -Dxenj.guest.acpi="${XENJ_GUEST_ACPI:-false}" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1500}" || rc=$?
surefire_result guest-devices org.xenj.itest.guests GuestDevicesBootTest PvhBootTest || exit 1
exit "$rc"
