package org.xenj.hvm.qemudm.internal.ide;

/**
 * An {@link IdeChannel}'s registers to and from its {@link IdeState.Channel} record. Called with the
 * channel's lock held (by {@link IdeChannel#save} and {@link IdeChannel#restore}).
 */
final class ChannelRecord {

    private ChannelRecord() {
    }

    static IdeState.Channel save(IdeChannel ch) {
        int[] tf = new int[IdeState.TASK_FILE];
        for (int u = 0; u < 2; u++) {
            int[] mine = {ch.feature[u], ch.nsect[u], ch.lbal[u], ch.lbam[u], ch.lbah[u], ch.hobFeature[u], ch.hobNsect[u],
                ch.hobLbal[u], ch.hobLbam[u], ch.hobLbah[u]};
            System.arraycopy(mine, 0, tf, 10 * u, 10);
        }
        tf[20] = ch.device;
        tf[21] = ch.control;
        return new IdeState.Channel(tf, saveDrive(ch, 0), saveDrive(ch, 1), ch.irqPending, ch.phase.ordinal(), ch.unit,
                ch.command, java.util.Arrays.copyOf(ch.buffer, ch.bufLen), Math.min(ch.bufPos, ch.bufLen), ch.remaining,
                ch.diskOffset, ch.atapiDma, ch.atapiLimit, ch.bmCommand, ch.bmStatus, ch.prdTable);
    }

    static void restore(IdeChannel ch, IdeState.Channel c) {
        int[] tf = c.taskFile();
        for (int u = 0; u < 2; u++) {
            int[][] regs = {ch.feature, ch.nsect, ch.lbal, ch.lbam, ch.lbah, ch.hobFeature, ch.hobNsect, ch.hobLbal, ch.hobLbam, ch.hobLbah};
            for (int i = 0; i < 10; i++) {
                regs[i][u] = tf[10 * u + i];
            }
        }
        ch.device = tf[20];
        ch.control = tf[21] & (IdeChannel.CTL_NIEN | IdeChannel.CTL_SRST | IdeChannel.CTL_HOB);
        restoreDrive(ch, 0, c.master());
        restoreDrive(ch, 1, c.slave());
        ch.irqPending = c.irqPending();
        ch.phase = IdeChannel.Phase.values()[c.phase()];
        ch.unit = c.unit();
        ch.command = c.command();
        byte[] b = c.buffer();
        System.arraycopy(b, 0, ch.buffer, 0, b.length);
        ch.bufLen = b.length;
        ch.bufPos = c.bufPos();
        ch.remaining = c.remaining();
        ch.diskOffset = c.diskOffset();
        ch.atapiDma = c.atapiDma();
        ch.atapiLimit = c.atapiLimit();
        ch.bmCommand = c.bmCommand();
        ch.bmStatus = c.bmStatus();
        ch.prdTable = c.prdTable();
    }

    private static IdeState.Drive saveDrive(IdeChannel ch, int u) {
        Atapi.Sense x = ch.sense[u];
        return new IdeState.Drive(ch.status[u], ch.error[u], ch.multiple[u], ch.heads[u], ch.spt[u], ch.mwdma[u],
                ch.writeCache[u], x.key, x.asc, x.unitAttention, x.mediaEvent,
                ch.drives[u] == null ? null : ch.drives[u].medium());
    }

    private static void restoreDrive(IdeChannel ch, int u, IdeState.Drive d) {
        ch.status[u] = ch.drives[u] == null ? 0 : d.status();
        ch.error[u] = d.error();
        ch.multiple[u] = d.multiple();
        ch.heads[u] = d.heads();
        ch.spt[u] = d.sectorsPerTrack();
        ch.mwdma[u] = d.mwdmaMode();
        ch.writeCache[u] = d.writeCache();
        ch.sense[u].key = d.senseKey();
        ch.sense[u].asc = d.asc();
        ch.sense[u].unitAttention = d.unitAttention();
        ch.sense[u].mediaEvent = d.mediaEvent();
    }
}
