package org.xenj.sched.credit.internal;

/**
 * Xen's csched_acct, once per timeslice: CPU time is shared among the domains with active vCPUs in
 * proportion to weight x active vCPUs. A domain cannot get more than its active vCPUs can use,
 * nor more than its cap; what it cannot use is shared among the others (water-filling), so an
 * idle or capped domain's share goes to the rest. Each active vCPU gets its domain's share
 * divided evenly; priorities follow the new balance.
 *
 * <p>Two departures from Xen, both to keep shares exact on a JVM: (1) what is handed out is the
 * CPU time the pool's vCPUs were actually charged in the period, not timeslice x pCPUs — the core
 * charges thread CPU time, and a pCPU thread on a busy host gets less than wall time; (2) credit
 * above the ceiling is not destroyed but passed on to the vCPUs below it, so the credit handed
 * out always equals the time burnt and weights hold even next to vCPUs that use less than
 * their share.
 */
final class CreditAccounting {

    /** A vCPU keeps at most this many periods of unused credit (Xen: one; two lose less to rounding of slices). */
    private static final int MAX_CREDIT_PERIODS = 2;
    /** Debt beyond this many periods is forgiven, so a long-starved domain is not punished forever. */
    private static final int MAX_DEBT_PERIODS = 3;

    private final CreditScheduler scheduler;

    CreditAccounting(CreditScheduler scheduler) {
        this.scheduler = scheduler;
    }

    void run(long now) {
        scheduler.refreshDefaults();
        scheduler.refreshPcpus();
        long period = scheduler.params.tsliceNanos();
        // Keep to the period grid (a late accounting does not stretch the period), but never
        // grant more than one period at once after a long idle stretch.
        long next = scheduler.nextAccounting + period;
        scheduler.nextAccounting = next - now > 0 ? next : now + period;

        long supply = scheduler.burnedThisPeriod;
        scheduler.burnedThisPeriod = 0;
        long perPcpu = 0;
        long[] byPcpu = scheduler.burnedOnPcpu;
        for (int i = 0; i < byPcpu.length; i++) {
            perPcpu = Math.max(perPcpu, byPcpu[i]);
            byPcpu[i] = 0;
        }
        countActive();
        shareOut(supply, perPcpu, period);
        long excess = 0;
        for (CreditDomain domain : scheduler.domainList) {
            excess += grant(domain, period);
        }
        passOn(excess, period);
        for (CreditDomain domain : scheduler.domainList) {
            for (CreditVCpu v : domain.vcpus) {
                v.ranThisPeriod = false;
                v.refreshPriority();
            }
            refillCap(domain, period);
        }
        for (RunQueue queue : scheduler.runQueues()) {
            queue.resort();
        }
    }

    private void countActive() {
        for (CreditDomain domain : scheduler.domainList) {
            int active = 0;
            for (CreditVCpu v : domain.vcpus) {
                if (v.isActive()) {
                    active++;
                }
            }
            domain.activeVCpus = active;
            domain.share = 0;
            domain.shareFixed = active == 0;
        }
    }

    /** Weighted water-filling of {@code total} nanoseconds among the active domains. */
    private void shareOut(long total, long perPcpu, long period) {
        long remaining = total;
        for (int round = 0; round <= scheduler.domainList.size(); round++) {
            long weightSum = 0;
            for (CreditDomain d : scheduler.domainList) {
                if (!d.shareFixed) {
                    weightSum += (long) d.weight * d.activeVCpus;
                }
            }
            if (weightSum == 0 || remaining <= 0) {
                return;
            }
            boolean clamped = false;
            for (CreditDomain d : scheduler.domainList) {
                if (d.shareFixed) {
                    continue;
                }
                long fair = scaled(remaining, (long) d.weight * d.activeVCpus, weightSum);
                long limit = usable(d, perPcpu, period);
                if (fair > limit) {
                    d.share = limit;
                    d.shareFixed = true;
                    remaining -= limit;
                    clamped = true;
                }
            }
            if (!clamped) {
                for (CreditDomain d : scheduler.domainList) {
                    if (!d.shareFixed) {
                        d.share = scaled(remaining, (long) d.weight * d.activeVCpus, weightSum);
                    }
                }
                return;
            }
        }
    }

    /** Most a domain can consume in one period: one pCPU's supply per active vCPU, and its cap. */
    private static long usable(CreditDomain d, long perPcpu, long period) {
        long limit = perPcpu * d.activeVCpus;
        return d.isCapped() ? Math.min(limit, d.capPerPeriod(period)) : limit;
    }

    /** {@code value * numerator / denominator} without overflow for any realistic pool. */
    private static long scaled(long value, long numerator, long denominator) {
        long product = value * numerator;
        if (Math.multiplyHigh(value, numerator) == 0 && product >= 0) {
            return product / denominator;
        }
        return (long) ((double) value * numerator / denominator);
    }

    /** Grants the domain's share to its active vCPUs; returns the credit that went over the ceiling. */
    private long grant(CreditDomain domain, long period) {
        long perVCpu = domain.activeVCpus == 0 ? 0 : domain.share / domain.activeVCpus;
        long ceiling = MAX_CREDIT_PERIODS * period;
        long floor = -MAX_DEBT_PERIODS * period;
        long excess = 0;
        for (CreditVCpu v : domain.vcpus) {
            if (v.isActive()) {
                v.credit += perVCpu;
            }
            if (v.credit > ceiling) {
                if (v.isActive()) {
                    excess += v.credit - ceiling;
                }
                v.credit = ceiling;
            }
            if (v.credit < floor) {
                v.credit = floor;
            }
        }
        return excess;
    }

    /** Hands credit that went over the ceiling to the active vCPUs below it, by weight. */
    private void passOn(long excess, long period) {
        if (excess <= 0) {
            return;
        }
        long ceiling = MAX_CREDIT_PERIODS * period;
        long weightSum = 0;
        for (CreditDomain d : scheduler.domainList) {
            for (CreditVCpu v : d.vcpus) {
                if (v.isActive() && v.credit < ceiling) {
                    weightSum += d.weight;
                }
            }
        }
        if (weightSum == 0) {
            return;
        }
        for (CreditDomain d : scheduler.domainList) {
            for (CreditVCpu v : d.vcpus) {
                if (v.isActive() && v.credit < ceiling) {
                    v.credit = Math.min(ceiling, v.credit + scaled(excess, d.weight, weightSum));
                }
            }
        }
    }

    private void refillCap(CreditDomain domain, long period) {
        if (!domain.isCapped()) {
            for (CreditVCpu v : domain.vcpus) {
                scheduler.unpark(v);
            }
            return;
        }
        long perPeriod = domain.capPerPeriod(period);
        domain.capBudget = Math.min(domain.capBudget + perPeriod, perPeriod);
        if (domain.capBudget > 0) {
            for (CreditVCpu v : domain.vcpus) {
                scheduler.unpark(v);
            }
        }
    }
}
