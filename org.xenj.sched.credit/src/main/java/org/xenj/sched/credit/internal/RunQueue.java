package org.xenj.sched.credit.internal;

/**
 * One pCPU's run queue: a doubly linked list through {@link CreditVCpu}'s own links, ordered by
 * priority like Xen's runq_insert, and within a priority by credit (most credit first; FIFO on
 * ties). Ordering by credit is our refinement: Xen keeps FIFO order within a priority, which lets a
 * vCPU that is owed a lot of CPU wait behind one that is owed little. Nothing is allocated.
 */
final class RunQueue {

    final int pcpu;
    private CreditVCpu head;
    private CreditVCpu tail;
    private int size;

    RunQueue(int pcpu) {
        this.pcpu = pcpu;
    }

    CreditVCpu head() {
        return head;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return head == null;
    }

    /** Inserts behind every queued vCPU that goes first: higher priority, or same priority and no less credit. */
    void insert(CreditVCpu v) {
        if (v.queuedOn >= 0) {
            throw new IllegalStateException(v + " is already queued on pCPU " + v.queuedOn);
        }
        CreditVCpu after = tail;
        while (after != null && !goesFirst(after, v)) {
            after = after.queuePrev;
        }
        CreditVCpu before = after == null ? head : after.queueNext;
        v.queuePrev = after;
        v.queueNext = before;
        if (after == null) {
            head = v;
        } else {
            after.queueNext = v;
        }
        if (before == null) {
            tail = v;
        } else {
            before.queuePrev = v;
        }
        v.queuedOn = pcpu;
        size++;
    }

    private static boolean goesFirst(CreditVCpu queued, CreditVCpu v) {
        return queued.priority > v.priority || (queued.priority == v.priority && queued.credit >= v.credit);
    }

    void remove(CreditVCpu v) {
        if (v.queuedOn != pcpu) {
            throw new IllegalStateException(v + " is not queued on pCPU " + pcpu);
        }
        if (v.queuePrev == null) {
            head = v.queueNext;
        } else {
            v.queuePrev.queueNext = v.queueNext;
        }
        if (v.queueNext == null) {
            tail = v.queuePrev;
        } else {
            v.queueNext.queuePrev = v.queuePrev;
        }
        v.queuePrev = null;
        v.queueNext = null;
        v.queuedOn = -1;
        size--;
    }

    /** Re-establishes the order after priorities changed (accounting), keeping FIFO order within a priority. */
    void resort() {
        CreditVCpu v = head;
        head = null;
        tail = null;
        size = 0;
        while (v != null) {
            CreditVCpu next = v.queueNext;
            v.queuePrev = null;
            v.queueNext = null;
            v.queuedOn = -1;
            insert(v);
            v = next;
        }
    }
}
