package org.xenj.hvm.qemudm.internal.ide;

import org.xenj.dom0.block.api.BlockDevice;

/**
 * A CD-ROM's medium changing under an {@link IdeChannel} (xl cd-insert/cd-eject, or the medium a
 * hand-over record names), as a real drive reports it: after an insert the next command (but
 * INQUIRY, REQUEST SENSE, GET EVENT STATUS) ends in UNIT ATTENTION, MEDIUM MAY HAVE CHANGED
 * (06/28); after an eject the commands that need a disc end in NOT READY, MEDIUM NOT PRESENT
 * (02/3A); either way GET EVENT STATUS reports the event once. Each method takes the channel's
 * lock; the caller drives the interrupt line afterwards.
 */
final class MediumChange {

    private MediumChange() {
    }

    /**
     * Swaps the medium of the CD-ROM at unit {@code u}. A transfer of that drive still running ends
     * with the change's check condition now (its late completion is dropped by the generation);
     * the old image is returned for the caller to close behind the I/O already queued on it.
     */
    static BlockDevice change(IdeChannel ch, int u, BlockDevice next, String medium) {
        synchronized (ch) {
            IdeDrive d = ch.drives[u];
            if (d == null || !d.atapi()) {
                throw new IllegalStateException("no CD-ROM at ide" + ch.index + (u == 0 ? " master" : " slave"));
            }
            BlockDevice old = d.swap(next, medium);
            Atapi.Sense s = ch.sense[u];
            s.mediaEvent = next != null ? Atapi.NEW_MEDIA : Atapi.MEDIA_REMOVAL;
            s.unitAttention = next != null;
            if (ch.unit == u && ch.phase != IdeChannel.Phase.IDLE && ch.phase != IdeChannel.Phase.PACKET) {
                ch.generation++;
                ch.bmStatus &= ~IdeChannel.BMS_ACTIVE;
                s.unitAttention = false; // this check condition is the attention
                ch.atapiCheck(next != null ? Atapi.UNIT_ATTENTION : Atapi.NOT_READY,
                        next != null ? Atapi.ASC_MEDIUM_CHANGED : Atapi.ASC_NO_MEDIUM);
                ch.remaining = 0;
                ch.bufLen = ch.bufPos = 0;
            }
            return old;
        }
    }

    /** The medium a hand-over record names, without a guest-visible change (the record's sense says what is pending). */
    static BlockDevice restore(IdeChannel ch, int u, BlockDevice next, String medium) {
        synchronized (ch) {
            return ch.drives[u].swap(next, medium);
        }
    }
}
