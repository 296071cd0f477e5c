package org.xenj.hypervisor.internal.pv;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ELF32 i386 kernel for a PV domain: its loadable segments and the Xen notes that tell the
 * builder how to start it (elfnote.h: ENTRY, HYPERCALL_PAGE, VIRT_BASE, PAE_MODE, FEATURES,
 * LOADER...), from PT_NOTE segments or the legacy {@code __xen_guest} section string.
 * Every offset is bounds-checked: a malformed image is an {@link IllegalArgumentException}
 * naming what is wrong, never an index error.
 */
public final class ElfKernel {

    public static final int NOTE_ENTRY = 1;
    public static final int NOTE_HYPERCALL_PAGE = 2;
    public static final int NOTE_VIRT_BASE = 3;
    public static final int NOTE_PADDR_OFFSET = 4;
    public static final int NOTE_XEN_VERSION = 5;
    public static final int NOTE_GUEST_OS = 6;
    public static final int NOTE_LOADER = 8;
    public static final int NOTE_PAE_MODE = 9;
    public static final int NOTE_FEATURES = 10;
    public static final int NOTE_SUPPORTED_FEATURES = 17;
    /** Where a PVH (HVM container) guest is entered in 32-bit flat protected mode, paging off. */
    public static final int NOTE_PHYS32_ENTRY = 18;

    /** A PT_LOAD segment: where it goes (virtual, and physical for PVH), its file bytes, its size in memory. */
    public record Segment(long vaddr, byte[] data, long memsz, long paddr) {
    }

    private final List<Segment> segments = new ArrayList<>();
    private final Map<Integer, byte[]> notes = new LinkedHashMap<>();
    private final Map<String, String> legacy = new LinkedHashMap<>();
    private final long elfEntry;

    public ElfKernel(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 52 || b.getInt(0) != 0x464c457f) {
            throw new IllegalArgumentException("not an ELF file");
        }
        if (image[4] != 1 || image[5] != 1) {
            throw new IllegalArgumentException("not a 32-bit little-endian ELF (PV guests here are x86_32)");
        }
        if ((b.getShort(18) & 0xffff) != 3) {
            throw new IllegalArgumentException("ELF machine is not i386");
        }
        elfEntry = b.getInt(24) & 0xffffffffL;
        long phoff = b.getInt(28) & 0xffffffffL;
        long shoff = b.getInt(32) & 0xffffffffL;
        int phentsize = b.getShort(42) & 0xffff;
        int phnum = b.getShort(44) & 0xffff;
        int shentsize = b.getShort(46) & 0xffff;
        int shnum = b.getShort(48) & 0xffff;
        int shstrndx = b.getShort(50) & 0xffff;
        if (phnum == 0) {
            throw new IllegalArgumentException("ELF has no program headers");
        }
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * phentsize;
            check(image, ph, 32, "program header " + i);
            int type = b.getInt((int) ph);
            long off = b.getInt((int) ph + 4) & 0xffffffffL;
            long vaddr = b.getInt((int) ph + 8) & 0xffffffffL;
            long paddr = b.getInt((int) ph + 12) & 0xffffffffL;
            long filesz = b.getInt((int) ph + 16) & 0xffffffffL;
            long memsz = b.getInt((int) ph + 20) & 0xffffffffL;
            if (type == 1) { // PT_LOAD
                check(image, off, filesz, "segment " + i);
                if (memsz < filesz) {
                    throw new IllegalArgumentException("segment " + i + " is smaller in memory than in the file");
                }
                byte[] data = new byte[(int) filesz];
                System.arraycopy(image, (int) off, data, 0, (int) filesz);
                segments.add(new Segment(vaddr, data, memsz, paddr));
            } else if (type == 4) { // PT_NOTE
                check(image, off, filesz, "note segment " + i);
                parseNotes(b, (int) off, (int) filesz);
            }
        }
        if (shoff != 0 && shnum > 0 && shstrndx < shnum) {
            readSections(image, b, shoff, shentsize, shnum, shstrndx, notes.isEmpty());
        }
        if (segments.isEmpty()) {
            throw new IllegalArgumentException("ELF has no loadable segment");
        }
    }

    private static void check(byte[] image, long off, long len, String what) {
        if (off < 0 || len < 0 || off + len > image.length) {
            throw new IllegalArgumentException(what + " lies outside the file");
        }
    }

    private void parseNotes(ByteBuffer b, int off, int len) {
        int p = off;
        int end = off + len;
        while (p + 12 <= end) {
            int namesz = b.getInt(p);
            int descsz = b.getInt(p + 4);
            int type = b.getInt(p + 8);
            if (namesz < 0 || descsz < 0 || namesz > len || descsz > len) {
                throw new IllegalArgumentException("malformed ELF note");
            }
            int name = p + 12;
            int desc = name + align4(namesz);
            if (desc + descsz > end) {
                throw new IllegalArgumentException("ELF note runs past its segment");
            }
            byte[] n = new byte[Math.max(0, namesz - 1)];
            b.get(name, n);
            if (new String(n, StandardCharsets.US_ASCII).equals("Xen")) {
                byte[] d = new byte[descsz];
                b.get(desc, d);
                byte[] before = notes.put(type, d);
                if (before != null && !java.util.Arrays.equals(before, d)) {
                    throw new IllegalArgumentException("contradictory Xen notes: note " + type + " is given twice with different values");
                }
            }
            p = desc + align4(descsz);
        }
    }

    private static int align4(int v) {
        return (v + 3) & ~3;
    }

    /**
     * The legacy {@code __xen_guest} string, and — when no PT_NOTE segment held Xen notes — the notes
     * of SHT_NOTE sections, as Xen's loader falls back to them (Mini-OS's notes sit in a non-allocated
     * {@code .note} section with no PT_NOTE program header).
     */
    private void readSections(byte[] image, ByteBuffer b, long shoff, int shentsize, int shnum, int shstrndx,
            boolean noteSections) {
        long strHdr = shoff + (long) shstrndx * shentsize;
        if (strHdr < 0 || strHdr + 40 > image.length) {
            return;
        }
        long strOff = b.getInt((int) strHdr + 16) & 0xffffffffL;
        for (int i = 0; i < shnum; i++) {
            long sh = shoff + (long) i * shentsize;
            if (sh + 40 > image.length) {
                return;
            }
            if (noteSections && b.getInt((int) sh + 4) == 7) { // SHT_NOTE
                long off = b.getInt((int) sh + 16) & 0xffffffffL;
                long size = b.getInt((int) sh + 20) & 0xffffffffL;
                check(image, off, size, "note section " + i);
                parseNotes(b, (int) off, (int) size);
            }
            long nameOff = strOff + (b.getInt((int) sh) & 0xffffffffL);
            String name = cString(image, nameOff, 64);
            if ("__xen_guest".equals(name)) {
                long off = b.getInt((int) sh + 16) & 0xffffffffL;
                long size = b.getInt((int) sh + 20) & 0xffffffffL;
                check(image, off, size, "__xen_guest section");
                String s = cString(image, off, (int) size);
                for (String kv : s.split(",")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        legacy.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
                    } else if (!kv.isBlank()) {
                        legacy.put(kv.trim(), "");
                    }
                }
            }
        }
    }

    private static String cString(byte[] image, long off, int max) {
        if (off < 0 || off >= image.length) {
            return null;
        }
        int end = (int) off;
        while (end < image.length && end < off + max && image[end] != 0) {
            end++;
        }
        return new String(image, (int) off, end - (int) off, StandardCharsets.US_ASCII);
    }

    public List<Segment> segments() {
        return segments;
    }

    public boolean hasXenNotes() {
        return !notes.isEmpty() || !legacy.isEmpty();
    }

    /** A numeric note (4- or 8-byte little-endian), or {@code dflt}. */
    public long numericNote(int type, long dflt) {
        byte[] d = notes.get(type);
        if (d == null) {
            return dflt;
        }
        ByteBuffer b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
        return switch (d.length) {
            case 4 -> b.getInt(0) & 0xffffffffL;
            case 8 -> b.getLong(0);
            default -> throw new IllegalArgumentException("Xen note " + type + " has " + d.length + " bytes, expected 4 or 8");
        };
    }

    public String stringNote(int type) {
        byte[] d = notes.get(type);
        if (d == null) {
            return null;
        }
        int n = 0;
        while (n < d.length && d[n] != 0) {
            n++;
        }
        return new String(d, 0, n, StandardCharsets.US_ASCII);
    }

    public long virtBase() {
        long v = numericNote(NOTE_VIRT_BASE, -1);
        if (v == -1 && legacy.containsKey("VIRT_BASE")) {
            v = Long.decode(legacy.get("VIRT_BASE"));
        }
        return v == -1 ? 0 : v;
    }

    /** Whether the image carries Xen note {@code type}. */
    public boolean hasNote(int type) {
        return notes.containsKey(type);
    }

    /** The ELF header's entry point. */
    public long elfEntry() {
        return elfEntry;
    }

    public long entry() {
        return numericNote(NOTE_ENTRY, elfEntry);
    }

    /** Virtual address of the hypercall page, or -1 if the kernel asks for none. */
    public long hypercallPage() {
        long v = numericNote(NOTE_HYPERCALL_PAGE, -1);
        if (v == -1 && legacy.containsKey("HYPERCALL_PAGE")) {
            v = virtBase() + (Long.decode(legacy.get("HYPERCALL_PAGE")) << 12); // legacy: a page number
        }
        return v;
    }

    public String paeMode() {
        String s = stringNote(NOTE_PAE_MODE);
        return s != null ? s : legacy.getOrDefault("PAE", "no");
    }

    public String loader() {
        String s = stringNote(NOTE_LOADER);
        return s != null ? s : legacy.get("LOADER");
    }

    public String features() {
        String s = stringNote(NOTE_FEATURES);
        return s != null ? s : legacy.getOrDefault("FEATURES", "");
    }

    /**
     * XEN_ELFNOTE_SUPPORTED_FEATURES: a bitmap of XENFEAT_* the kernel supports, one 32-bit word per
     * submap; Xen reads submap 0 only (XENFEAT_NR_SUBMAPS = 1). 0 without the note or with a shorter one.
     */
    public int supportedFeaturesNote() {
        byte[] d = notes.get(NOTE_SUPPORTED_FEATURES);
        if (d == null || d.length < 4) {
            return 0;
        }
        return ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    /**
     * Whether the kernel handles PAE page directories anywhere (Xen's XEN_PAE_EXTCR3/BIMODAL): the
     * PAE_MODE note "yes" or "bimodal", or the legacy {@code PAE=yes[extended-cr3]}. The toolstack
     * then turns VMASST_TYPE_pae_extended_cr3 on.
     */
    public boolean paeExtendedCr3() {
        String s = stringNote(NOTE_PAE_MODE);
        if (s != null) {
            return s.equals("yes") || s.contains("bimodal");
        }
        return "yes[extended-cr3]".equals(legacy.get("PAE"));
    }

    public String guestOs() {
        String s = stringNote(NOTE_GUEST_OS);
        return s != null ? s : legacy.get("GUEST_OS");
    }
}
