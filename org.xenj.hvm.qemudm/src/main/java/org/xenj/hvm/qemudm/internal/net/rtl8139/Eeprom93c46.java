package org.xenj.hvm.qemudm.internal.net.rtl8139;

/**
 * The 93C46 serial EEPROM behind the RTL8139's 9346CR register: 64 words of 16 bits, clocked one
 * bit at a time (CS, SK, DI in; DO out). READ shifts a dummy 0 and then the addressed word out, most
 * significant bit first, and goes on with the next word (sequential read) while CS stays high;
 * EWEN/EWDS/WRITE/ERASE work as on the part. Word 0 is 0x8129 (which tells Linux's 8139too that the
 * address field is 6 bits), words 7-9 the MAC address, little-endian.
 */
final class Eeprom93c46 {

    static final int WORDS = 64;
    static final int IDLE = 0, COMMAND = 1, READING = 2, WRITING = 3;

    final int[] words = new int[WORDS];
    int phase;
    int shift;
    int bits;
    int address;
    boolean dataOut;
    boolean writeEnabled;
    boolean chipSelect;
    boolean clock;

    Eeprom93c46(byte[] mac, int subsystemVendor, int subsystemId) {
        words[0] = 0x8129;
        words[1] = 0x10ec;
        words[2] = 0x8139;
        words[3] = subsystemVendor;
        words[4] = subsystemId;
        for (int i = 0; i < 3; i++) {
            words[7 + i] = (mac[2 * i] & 0xff) | (mac[2 * i + 1] & 0xff) << 8;
        }
    }

    /** The MAC address words 7-9 hold. */
    byte[] mac() {
        byte[] m = new byte[6];
        for (int i = 0; i < 3; i++) {
            m[2 * i] = (byte) words[7 + i];
            m[2 * i + 1] = (byte) (words[7 + i] >> 8);
        }
        return m;
    }

    /** The pins as the 9346CR register drives them in programming mode. */
    void drive(boolean cs, boolean sk, boolean di) {
        if (!cs) {
            phase = IDLE;
            chipSelect = false;
            clock = sk;
            dataOut = true; // ready
            return;
        }
        boolean rising = sk && !clock;
        clock = sk;
        if (!chipSelect) {
            chipSelect = true;
            phase = IDLE;
        }
        if (rising) {
            clockIn(di);
        }
    }

    private void clockIn(boolean di) {
        switch (phase) {
            case IDLE -> {
                if (di) { // start bit
                    phase = COMMAND;
                    shift = 0;
                    bits = 0;
                }
            }
            case COMMAND -> {
                shift = (shift << 1) | (di ? 1 : 0);
                if (++bits == 8) {
                    command(shift >> 6, shift & 0x3f);
                }
            }
            case READING -> {
                dataOut = (shift & 0x8000) != 0;
                shift = (shift << 1) & 0xffff;
                if (--bits == 0) {
                    address = (address + 1) & (WORDS - 1);
                    shift = words[address];
                    bits = 16;
                }
            }
            case WRITING -> {
                shift = ((shift << 1) | (di ? 1 : 0)) & 0xffff;
                if (++bits == 16) {
                    if (writeEnabled) {
                        words[address] = shift;
                    }
                    phase = IDLE;
                    dataOut = true;
                }
            }
            default -> phase = IDLE;
        }
    }

    private void command(int opcode, int addr) {
        switch (opcode) {
            case 2 -> { // READ: a dummy 0, then the word
                address = addr;
                shift = words[addr];
                bits = 16;
                dataOut = false;
                phase = READING;
            }
            case 1 -> { // WRITE
                address = addr;
                shift = 0;
                bits = 0;
                phase = WRITING;
            }
            case 3 -> { // ERASE
                if (writeEnabled) {
                    words[addr] = 0xffff;
                }
                phase = IDLE;
                dataOut = true;
            }
            default -> { // 00: EWEN (11xxxx), EWDS (00xxxx); ERAL/WRAL are not used by any driver here
                int sub = addr >> 4;
                if (sub == 3) {
                    writeEnabled = true;
                } else if (sub == 0) {
                    writeEnabled = false;
                }
                phase = IDLE;
            }
        }
    }
}
