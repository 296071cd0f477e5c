package org.xenj.sched.rr.internal;

/** The pool's single first-in first-out queue of runnable vCPUs that are not running. */
final class RrQueue {

    private RrVCpu head;
    private RrVCpu tail;

    RrVCpu head() {
        return head;
    }

    boolean isEmpty() {
        return head == null;
    }

    void append(RrVCpu v) {
        if (v.queued) {
            return;
        }
        v.prev = tail;
        v.next = null;
        if (tail == null) {
            head = v;
        } else {
            tail.next = v;
        }
        tail = v;
        v.queued = true;
    }

    void remove(RrVCpu v) {
        if (!v.queued) {
            return;
        }
        if (v.prev == null) {
            head = v.next;
        } else {
            v.prev.next = v.next;
        }
        if (v.next == null) {
            tail = v.prev;
        } else {
            v.next.prev = v.prev;
        }
        v.prev = null;
        v.next = null;
        v.queued = false;
    }

    /** The first queued vCPU allowed on {@code pcpu}, or null. */
    RrVCpu firstFor(int pcpu) {
        for (RrVCpu v = head; v != null; v = v.next) {
            if (v.vcpu.canRunOn(pcpu)) {
                return v;
            }
        }
        return null;
    }
}
