package org.xenj.hypervisor.internal.pv;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds small ELF32 i386 images with Xen notes for builder tests. */
public final class TestElf {

    private TestElf() {
    }

    public static byte[] note(int type, byte[] desc) {
        ByteBuffer b = ByteBuffer.allocate(12 + 4 + ((desc.length + 3) & ~3)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(4).putInt(desc.length).putInt(type);
        b.put("Xen\0".getBytes(StandardCharsets.US_ASCII));
        b.put(desc);
        return b.array();
    }

    public static byte[] u32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    public static byte[] str(String s) {
        return (s + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    /** A kernel of {@code code} at {@code virtBase} (one PT_LOAD of {@code memsz}), with the usual notes. */
    public static byte[] kernel(long virtBase, byte[] code, int memsz, long hypercallPage) {
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        notes.writeBytes(note(ElfKernel.NOTE_VIRT_BASE, u32(virtBase)));
        notes.writeBytes(note(ElfKernel.NOTE_ENTRY, u32(virtBase)));
        notes.writeBytes(note(ElfKernel.NOTE_HYPERCALL_PAGE, u32(hypercallPage)));
        notes.writeBytes(note(ElfKernel.NOTE_PAE_MODE, str("yes")));
        notes.writeBytes(note(ElfKernel.NOTE_LOADER, str("generic")));
        notes.writeBytes(note(ElfKernel.NOTE_GUEST_OS, str("xenj-test")));
        notes.writeBytes(note(ElfKernel.NOTE_FEATURES, str("!pae_pgdir_above_4gb")));
        return image(virtBase, code, memsz, notes.toByteArray());
    }

    public static byte[] image(long virtBase, byte[] code, int memsz, byte[] notes) {
        int phoff = 52;
        int dataOff = 4096;
        int notesOff = dataOff + code.length;
        ByteBuffer b = ByteBuffer.allocate(notesOff + notes.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x464c457f).put((byte) 1).put((byte) 1).put((byte) 1);
        b.position(16);
        b.putShort((short) 2).putShort((short) 3).putInt(1).putInt((int) virtBase).putInt(phoff).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) 32).putShort((short) 2).putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.position(phoff);
        b.putInt(1).putInt(dataOff).putInt((int) virtBase).putInt((int) virtBase).putInt(code.length).putInt(memsz).putInt(7).putInt(4096);
        b.putInt(4).putInt(notesOff).putInt(0).putInt(0).putInt(notes.length).putInt(notes.length).putInt(4).putInt(4);
        b.position(dataOff);
        b.put(code);
        b.put(notes);
        return b.array();
    }

    /** A kernel described only by the legacy {@code __xen_guest} section string (no PT_NOTE). */
    public static byte[] legacy(long virtBase, byte[] code, String xenGuest) {
        byte[] base = image(virtBase, code, code.length, new byte[0]);
        byte[] strtab = "\0.shstrtab\0__xen_guest\0".getBytes(StandardCharsets.US_ASCII);
        byte[] guest = (xenGuest + "\0").getBytes(StandardCharsets.US_ASCII);
        int strOff = base.length;
        int guestOff = strOff + strtab.length;
        int shoff = (guestOff + guest.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(shoff + 3 * 40).order(ByteOrder.LITTLE_ENDIAN);
        b.put(base);
        b.put(strtab);
        b.put(guest);
        b.putInt(32, shoff);
        b.putShort(46, (short) 40).putShort(48, (short) 3).putShort(50, (short) 1);
        b.putShort(44, (short) 1); // only the PT_LOAD program header
        b.position(shoff + 40);
        b.putInt(1).putInt(3).putInt(0).putInt(0).putInt(strOff).putInt(strtab.length).putInt(0).putInt(0).putInt(1).putInt(0);
        b.putInt(11).putInt(1).putInt(0).putInt(0).putInt(guestOff).putInt(guest.length).putInt(0).putInt(0).putInt(1).putInt(0);
        return b.array();
    }
}
