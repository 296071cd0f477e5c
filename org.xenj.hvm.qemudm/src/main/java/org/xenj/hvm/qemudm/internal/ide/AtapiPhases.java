package org.xenj.hvm.qemudm.internal.ide;

/**
 * The PACKET protocol of an ATAPI drive on an {@link IdeChannel}: the commands a packet device
 * takes, the 12-byte command packet, and how its reply travels (PIO in chunks of the byte count
 * limit, or DMA). Called with the channel's lock held.
 */
final class AtapiPhases {

    private AtapiPhases() {
    }

    static void execute(IdeChannel ch, IdeDrive d, int cmd) {
        int u = ch.unit;
        switch (cmd) {
            case 0xa1 -> ch.pioIn(ch.words(d.identify(0, 0, 0, ch.mwdma[u], false)));
            case 0xa0 -> {
                ch.atapiDma = (ch.feature[ch.unit] & 1) != 0;
                int limit = ch.lbah[ch.unit] << 8 | ch.lbam[ch.unit];
                ch.atapiLimit = limit == 0 || limit == 0xffff ? 0xfffe : limit & ~1;
                ch.phase = IdeChannel.Phase.PACKET;
                ch.bufPos = 0;
                ch.bufLen = 12;
                ch.nsect[ch.unit] = 0x01; // CoD: the ch.device wants the ch.command packet
                ch.status[u] = IdeChannel.DRDY | IdeChannel.DRQ;
            }
            case 0x08 -> { // DEVICE RESET
                ch.generation++;
                ch.phase = IdeChannel.Phase.IDLE;
                ch.signature(u);
            }
            case 0xef -> ch.setFeatures(u);
            case 0x90 -> { ch.resetDrives(); ch.raise(); }
            case 0xec -> { // a packet ch.device aborts IDENTIFY DEVICE and shows its signature
                ch.signature(u);
                ch.error[u] = IdeChannel.ABRT;
                ch.status[u] = IdeChannel.ERR;
                ch.raise();
            }
            default -> ch.abort();
        }
    }

    static void packet(IdeChannel ch) {
        System.arraycopy(ch.buffer, 0, ch.cdb, 0, 12);
        IdeDrive d = ch.drives[ch.unit];
        Atapi.Reply r = Atapi.execute(ch.cdb, d, ch.sense[ch.unit]);
        if (r.senseKey() != Atapi.NO_SENSE) {
            ch.atapiCheck(r.senseKey(), r.asc());
            return;
        }
        if (r.data() != null && r.data().length > 0) {
            System.arraycopy(r.data(), 0, ch.buffer, 0, r.data().length);
            ch.bufPos = 0;
            ch.bufLen = r.data().length;
            ch.remaining = 0;
            if (ch.atapiDma) {
                ch.phase = IdeChannel.Phase.DMA_WAIT;
                ch.status[ch.unit] = IdeChannel.DRDY | IdeChannel.DSC | IdeChannel.DRQ;
                ch.maybeStartDma();
            } else {
                ch.phase = IdeChannel.Phase.PIO_IN;
                ch.lbam[ch.unit] = ch.bufLen & 0xff;
                ch.lbah[ch.unit] = ch.bufLen >> 8;
                ch.nsect[ch.unit] = 0x02;
                ch.status[ch.unit] = IdeChannel.DRDY | IdeChannel.DSC | IdeChannel.DRQ;
                ch.raise();
            }
        } else if (r.discLength() > 0) {
            ch.diskOffset = r.discOffset();
            ch.remaining = r.discLength();
            ch.bufPos = ch.bufLen = 0;
            if (ch.atapiDma) {
                ch.phase = IdeChannel.Phase.DMA_WAIT;
                ch.status[ch.unit] = IdeChannel.DRDY | IdeChannel.DSC | IdeChannel.DRQ;
                ch.maybeStartDma();
            } else {
                ch.readNextBlock(chunk(ch));
            }
        } else {
            ch.atapiComplete();
        }
    }

    /** PIO data per DRQ: up to the byte count limit, whole 2048-byte sectors when it allows. */
    static int chunk(IdeChannel ch) {
        int n = (int) Math.min(ch.remaining, ch.atapiLimit);
        if (n >= IdeDrive.CD_SECTOR && n < ch.remaining) {
            n -= n % IdeDrive.CD_SECTOR;
        }
        return n;
    }
}
