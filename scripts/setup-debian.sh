#!/usr/bin/env bash
# Installs what xenj needs on a Debian (bookworm) machine, and nothing when it is all there:
#   build:  JDK 17, Maven
#   tests:  gcc-multilib (gcc -m32), nasm, cpio (guest initramfs, test kernels), qemu-user
#           (qemu-i386: the CPU oracle's second opinion on hosts that cannot run i386 code;
#           installed without qemu-user-binfmt, so i386 programs never pass for native ones),
#           qemu-utils (qemu-img: the oracle of the block layer's raw/qcow2 interop tests),
#           e2fsprogs (mkfs.ext4, e2fsck, debugfs: the oracles of tests/guest-devices.sh),
#           vncsnapshot + tesseract-ocr (the VNC console's oracles), seabios (the stdvga's VGA BIOS),
#           extlinux (the ext4 disk SeaBIOS boots: scripts/make-ext4-image.sh),
#           acpica-tools (iasl, acpiexec: the ACPI tables' oracle)
#   guests: i386 as a foreign architecture, used only by `apt-get download` of guest packages
#           (the kernel and busybox the default guest is made of); nothing i386 gets installed.
# Runs as root (CI) or through sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup-debian: run as root or install sudo" >&2; exit 1; }
    SUDO="sudo"
fi

missing=()
have() { command -v "$1" >/dev/null 2>&1; }

java_major() {
    java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

if ! have java || ! have javac || [ "$(java_major)" != 17 ]; then
    missing+=(openjdk-17-jdk-headless)
fi
have mvn || missing+=(maven)
have nasm || missing+=(nasm)
have cpio || missing+=(cpio)
have gzip || missing+=(gzip)
have xz || missing+=(xz-utils)
have qemu-i386 || missing+=(qemu-user)
have qemu-img || missing+=(qemu-utils)
# qemu-system-i386: the oracle MultibootBootTest runs the Multiboot test kernel on (and the peer in bench/)
have qemu-system-i386 || missing+=(qemu-system-x86)
# network tests: ip (netns, TAP into a namespace), python3 (http.server in the namespace), wget
# (the namespace fetching from a guest's httpd) — tests/guest-devices.sh, TapNetnsTest
have ip || missing+=(iproute2)
have python3 || missing+=(python3)
have wget || missing+=(wget)
# bench/migrate.sh: the guest-side downtime (a 1 ms ping from the bench's namespace through the TAPs)
have ping || missing+=(iputils-ping)
# disk checks of tests/guest-devices.sh: ext4 images made and checked on the host (mkfs.ext4, e2fsck,
# debugfs), the ISO9660 CD-ROM image (genisoimage or xorriso)
{ have mkfs.ext4 || have /usr/sbin/mkfs.ext4; } && { have debugfs || have /usr/sbin/debugfs; } || missing+=(e2fsprogs)
have genisoimage || have xorriso || missing+=(genisoimage)
# ACPI tables of HVM direct boot: ACPICA's iasl -d and acpiexec are AcpiTablesTest's oracle
have iasl || missing+=(acpica-tools)
# VNC console checks of tests/guest-devices.sh: a real RFB client takes the picture (vncsnapshot),
# OCR reads the guest's text on it (tesseract); the stdvga's VGA BIOS (vgabios-stdvga.bin) comes with seabios below
have vncsnapshot || missing+=(vncsnapshot)
have tesseract || missing+=(tesseract-ocr)
# firmware boot (SeaBiosBootTest, BiosDiskBootTest, scripts/make-bios-images.sh): Debian's SeaBIOS, and the
# syslinux disk and isolinux CD images made without root (mkfs.fat + mtools + syslinux --offset, xorriso)
[ -r /usr/share/seabios/bios.bin ] || missing+=(seabios)
have syslinux || missing+=(syslinux)
[ -r /usr/lib/syslinux/mbr/mbr.bin ] || missing+=(syslinux-common)
[ -r /usr/lib/ISOLINUX/isolinux.bin ] || missing+=(isolinux)
# the ext4 disk with extlinux (scripts/make-ext4-image.sh, LinuxBootTest's firmware-booted domain)
{ have extlinux && [ -r /usr/lib/EXTLINUX/mbr.bin ]; } || missing+=(extlinux)
have mcopy || missing+=(mtools)
{ have mkfs.fat || have /usr/sbin/mkfs.fat; } || missing+=(dosfstools)
have xorriso || missing+=(xorriso)
if ! have gcc || ! echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - >/dev/null 2>&1; then
    missing+=(gcc-multilib)
fi

updated=0
# A mirror caught mid-sync fails one index ("File has unexpected size ... Mirror sync in progress?")
# while the others are fine: retry, then go on with what apt has; a package that is really
# unavailable still fails the apt-get install or download that needs it, with apt's own message.
apt_update() {
    if [ "$updated" -eq 0 ]; then
        local try
        for try in 1 2 3; do
            if $SUDO apt-get update -q; then
                updated=1
                return 0
            fi
            echo "setup-debian: apt-get update failed (try $try of 3)" >&2
            [ "$try" -lt 3 ] && sleep 20
        done
        echo "setup-debian: going on with the package lists apt has; an install that needs a missing one fails below" >&2
        updated=1
    fi
}

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-debian: installing ${missing[*]}" >&2
    apt_update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Guest packages are i386 .debs fetched with `apt-get download`; apt must know the architecture.
if have dpkg && ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "setup-debian: adding i386 as a foreign architecture (for apt-get download of guest packages)" >&2
    $SUDO dpkg --add-architecture i386
    updated=0
    apt_update
fi

# Java 17 must be the one Maven and Karaf use (Karaf 4.4's console fails on JDK 24+).
if [ "$(java_major)" != 17 ] && [ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]; then
    echo "setup-debian: note: 'java' is not 17; ./xenj uses JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64" >&2
fi
