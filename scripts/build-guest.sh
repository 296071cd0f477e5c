#!/bin/bash
# build-guest.sh OUTDIR
#
# Builds xenj's default HVM guest from Debian bookworm i386 packages:
#   OUTDIR/bzImage            the linux-image-*-686 kernel (resolved through linux-image-686:i386)
#   OUTDIR/initramfs.cpio.gz  gzip'd cpio (newc): static busybox, /init, the kernel's disk/NIC modules
#   OUTDIR/VERSIONS           exact package versions
# /init mounts proc, sysfs and devtmpfs and runs a job-control shell on ttyS0.
#
# Nothing i386 is installed on the host: the packages are fetched with `apt-get download` and
# unpacked with dpkg-deb. Idempotent: downloaded .debs are kept in OUTDIR/debs, and the outputs
# are rebuilt only when a package version changed. Env: KERNEL_PKG overrides the kernel package;
# KERNEL_FLAVOUR picks Debian's i386 flavour (default 686; 686-pae is the PAE kernel with
# CONFIG_XEN_PVHVM=y that finds Xen's CPUID leaves, see tests/guest-devices.sh).
set -euo pipefail

OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DEBS="$OUT/debs"
mkdir -p "$DEBS"

for tool in apt-get apt-cache dpkg-deb cpio gzip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-guest: missing tool '$tool' (apt-get install $tool)" >&2; exit 1; }
done

# 1. i386 package lists. Only the foreign architecture is enabled; nothing i386 is installed.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  dpkg --add-architecture i386
fi
policy=$(apt-cache policy busybox-static:i386 2>/dev/null || true)
if ! echo "$policy" | grep -q 'Candidate: [0-9]'; then
  # A failing mirror index (e.g. security) must not stop us when main has what we need.
  timeout 600 apt-get update -q || true
fi

# 2. The current kernel of the flavour (686 or 686-pae), via its metapackage.
FLAVOUR=${KERNEL_FLAVOUR:-686}
case "$FLAVOUR" in 686|686-pae) ;; *) echo "build-guest: KERNEL_FLAVOUR must be 686 or 686-pae, not '$FLAVOUR'" >&2; exit 1;; esac
if [ -z "${KERNEL_PKG:-}" ]; then
  KERNEL_PKG=$(apt-cache depends "linux-image-$FLAVOUR:i386" 2>/dev/null |
    sed -n "s/^ *Depends: \(linux-image-[0-9][^ :]*-$FLAVOUR\)\(:i386\)\{0,1\}\$/\1/p" | head -n1)
fi
[ -n "$KERNEL_PKG" ] || { echo "build-guest: cannot resolve linux-image-*-$FLAVOUR (apt-get update failed?)" >&2; exit 1; }

deb_of() { # pkg:arch -> path of its .deb in $DEBS (downloaded once)
  local pkg=$1 ver file
  ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "build-guest: no candidate for $pkg" >&2; exit 1; }
  # apt-get download writes an epoch's ':' as '%3a': match the version after any epoch.
  file=$(ls "$DEBS/${pkg%%:*}_"*"${ver#*:}_i386.deb" 2>/dev/null | head -n1 || true)
  if [ -z "$file" ]; then
    (cd "$DEBS" && timeout 900 apt-get download -q "$pkg" >&2)
    file=$(ls "$DEBS/${pkg%%:*}_"*"${ver#*:}_i386.deb" | head -n1)
  fi
  echo "$file"
}
KDEB=$(deb_of "$KERNEL_PKG:i386")
BDEB=$(deb_of "busybox-static:i386")
STAMP="$(basename "$KDEB") $(basename "$BDEB") init-v4-modules"

if [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ] && [ -s "$OUT/bzImage" ] && [ -s "$OUT/initramfs.cpio.gz" ]; then
  echo "guest up to date in $OUT"
  exit 0
fi

# 3. Kernel image and symbol map.
WORK="$OUT/work"
rm -rf "$WORK"
mkdir -p "$WORK/kernel" "$WORK/busybox" "$WORK/root"
KVER=${KERNEL_PKG#linux-image-}
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$WORK/kernel" ./boot
cp -f "$WORK/kernel/boot/vmlinuz-$KVER" "$OUT/bzImage"
cp -f "$WORK/kernel/boot/config-$KVER" "$OUT/config" 2>/dev/null || true

# 4. initramfs tree: busybox with its applets as links, device nodes for early output.
dpkg-deb -x "$BDEB" "$WORK/busybox"
R="$WORK/root"
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/proc" "$R/sys" "$R/tmp" "$R/etc" "$R/root" "$R/mnt"
cp "$WORK/busybox/bin/busybox" "$R/bin/busybox"
chmod 755 "$R/bin/busybox"
for applet in $("$WORK/busybox/bin/busybox" --list 2>/dev/null || echo sh mount cat echo uname md5sum poweroff); do
  [ "$applet" = busybox ] || ln -sf busybox "$R/bin/$applet"
done
for applet in poweroff reboot halt init; do ln -sf ../bin/busybox "$R/sbin/$applet"; done
if [ "$(id -u)" = 0 ]; then
  mknod -m 600 "$R/dev/console" c 5 1
  mknod -m 666 "$R/dev/null" c 1 3
  mknod -m 660 "$R/dev/ttyS0" c 4 64
fi
# 4b. Kernel modules from the same kernel package, for the guest's disks and NICs: Linux's own
# drivers (xen-blkfront, xen-netfront, ata_piix + sd/sr, 8139too, ne2k-pci) and filesystems (ext4,
# isofs), with everything they depend on (read from each module's .modinfo "depends=" string, as the
# host may have no kmod). /init runs busybox depmod and loads them; a module the flavour lacks
# (the 686 kernel has no Xen frontends) is skipped. bochs is Linux's DRM driver for QEMU's (and
# xenj's) stdvga; with it fbcon draws the consoles tty1.. on the emulated screen.
GUEST_MODULES="crc32c_generic crct10dif_generic crc64_rocksoft_generic ext4 isofs sd_mod sr_mod ata_piix xen-blkfront xen-netfront 8139too ne2k-pci bochs"
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$WORK/kernel" "./lib/modules/$KVER/kernel"
MODSRC="$WORK/kernel/lib/modules/$KVER"
mod_path() { # module name -> its path under $MODSRC (names treat - and _ alike), or nothing
  find "$MODSRC/kernel" -name "$(echo "$1" | sed 's/[-_]/[-_]/g').ko" | head -n1
}
declare -A copied=()
copy_module() {
  local name=$1 path dep rel
  path=$(mod_path "$name")
  [ -n "$path" ] || return 0
  rel=${path#"$MODSRC"/}
  [ -n "${copied[$rel]:-}" ] && return 0
  copied[$rel]=1
  mkdir -p "$R/lib/modules/$KVER/$(dirname "$rel")"
  cp "$path" "$R/lib/modules/$KVER/$rel"
  for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "$path" | head -n1 | sed 's/^depends=//; s/,/ /g'); do
    copy_module "$dep"
  done
}
for m in $GUEST_MODULES; do copy_module "$m"; done
echo "$GUEST_MODULES" > "$R/etc/modules"
cp "$MODSRC/modules.builtin" "$MODSRC/modules.order" "$R/lib/modules/$KVER/" 2>/dev/null || true

cat > "$R/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
# Linux's own drivers for the disks and NICs xenj may give this guest (see build-guest.sh 4b)
depmod 2>/dev/null
for m in $(cat /etc/modules); do modprobe -q "$m" 2>/dev/null; done
echo "xenj guest: $(uname -sr) up, shell on ttyS0"
# xenj.counter=N on the kernel command line: print "tick 0", "tick 1", ... every N/10 s on ttyS0,
# for tests that must see every byte of a running guest's output (tests/handover-qemudm.sh).
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    xenj.counter=*)
      ( n=${arg#xenj.counter=}; i=0
        while :; do echo "tick $i"; i=$((i + 1)); usleep $((n * 100000)); done ) > /dev/ttyS0 2>&1 &
      ;;
  esac
done
# A shell with a controlling tty (job control, Ctrl-C) on the serial line; respawned if it exits.
while :; do
  setsid cttyhack sh -l
done
INIT
chmod 755 "$R/init"
echo 'PS1="~ # "' > "$R/etc/profile"
{
  echo "kernel $(dpkg-deb -f "$KDEB" Package) $(dpkg-deb -f "$KDEB" Version)"
  echo "busybox $(dpkg-deb -f "$BDEB" Package) $(dpkg-deb -f "$BDEB" Version)"
} > "$OUT/VERSIONS"

# 5. Reproducible cpio (fixed mtimes, sorted names) + gzip.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
  gzip -n -9 > "$OUT/initramfs.cpio.gz.tmp"
mv -f "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
rm -rf "$WORK"
echo "$STAMP" > "$OUT/.stamp"
echo "guest built in $OUT:"
cat "$OUT/VERSIONS"
