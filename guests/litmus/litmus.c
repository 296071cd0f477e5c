/*
 * litmus.c: x86-TSO litmus tests for xenj's SMP guests (issue 13), run by tests/litmus-smp.sh
 * inside a 2-vCPU Debian guest. Written for xenj from the definitions in Intel SDM vol. 3 §8.2.3
 * (the memory-ordering examples) and §8.1.2 (locked instructions).
 *
 *   litmus [-n ITERS] [-i IRIW_ITERS] [-b SYNC_EVERY] [-B IRIW_SYNC_EVERY] [-t SECONDS] [TEST...]
 *       every test ITERS iterations (default 1000000), IRIW IRIW_ITERS (default ITERS);
 *       -b: a barrier every SYNC_EVERY iterations (default 1); -B: IRIW's (default 1 with 4 or
 *       more CPUs, else 16: with 4 threads on 2 CPUs its barrier sleeps, far dearer, see barrier_wait);
 *       -t: the whole run's watchdog (default 1800 s), a hang ends as FAIL;
 *       TEST: only these (SB SB+mfence MP LB IRIW LOCKED), default all.
 *
 * Each shared location is touched by exactly one `mov` written in inline assembly ("memory"
 * clobber), so what runs is the test as written, never something the C compiler reordered.
 * Every iteration uses fresh locations (batches of BATCH, tallied and cleared after the batch),
 * and all threads meet at a sense-reversing barrier before each iteration (or every -b/-B) so that
 * the test bodies actually run at the same time on the two CPUs. IRIW runs its 4 threads on the 2
 * CPUs (two pinned to each): at most two of them run at once, so it cannot reach the interleavings
 * where both readers sit between both writes; a real IRIW needs 4 CPUs. Per test it prints the iterations, the count of
 * each outcome, and PASS/FAIL by TSO's rules: a forbidden outcome seen even once, an impossible
 * register value, or a lost locked increment is FAIL. Last line: "litmus: N passed, M failed".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/futex.h>
#include <unistd.h>

#define BATCH 1024
#define MAXT 4

/* One plain 32-bit store / load, as the guest CPU must order them. */
#define ST(loc, v) __asm__ __volatile__("movl %1, %0" : "=m"(loc) : "ri"(v) : "memory")
#define LD(loc) ({ int r_; __asm__ __volatile__("movl %1, %0" : "=r"(r_) : "m"(loc) : "memory"); r_; })
#define MFENCE() __asm__ __volatile__("mfence" ::: "memory")

/* Locations of the current batch, each array on its own cache lines. */
static int xs[BATCH] __attribute__((aligned(64)));
static int ys[BATCH] __attribute__((aligned(64)));
static int res[MAXT][2][BATCH] __attribute__((aligned(64)));

struct barrier {
    int count;
    int sense;
    int n;
    int sleep; /* more threads than CPUs: a waiter must give its CPU to the thread it waits for */
} __attribute__((aligned(64)));

static void barrier_init(struct barrier *b, int n, int sleep)
{
    b->count = n;
    b->sense = 0;
    b->n = n;
    b->sleep = sleep;
}

/*
 * Sense-reversing: the last thread in resets the count, then flips the sense everyone waits on.
 * With more threads than CPUs a waiter sleeps on a futex, as the thread it waits for may be
 * queued behind it on its own CPU. Measured in the guest (IRIW, a barrier per iteration, host
 * load 8-11): sched_yield() 11-19 ms per barrier, the futex 5.8 ms, spinning 2000 PAUSEs before
 * the futex 6.6 ms; so IRIW takes a barrier every 16 iterations by default (-B).
 */
static void barrier_wait(struct barrier *b, int *local)
{
    int s = *local ^ 1;
    *local = s;
    if (__atomic_sub_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == 0) {
        __atomic_store_n(&b->count, b->n, __ATOMIC_RELAXED);
        __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
        if (b->sleep)
            syscall(SYS_futex, &b->sense, FUTEX_WAKE_PRIVATE, b->n, NULL, NULL, 0);
        return;
    }
    while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
        if (b->sleep)   /* returns at once if the sense already flipped */
            syscall(SYS_futex, &b->sense, FUTEX_WAIT_PRIVATE, s ^ 1, NULL, NULL, 0);
        else
            __asm__ __volatile__("pause" ::: "memory");
    }
}

typedef void (*body_fn)(int thread, int k);

/*
 * An outcome is the recorded registers as bits, thread by thread, first register first (most
 * significant): SB's "00" is r0=0,r1=0; IRIW's "1010" is x=1,y=0 seen by one reader and y=1,x=0
 * by the other.
 */
struct test {
    const char *name;
    int threads;
    int regs[MAXT];  /* registers each thread records in res[] */
    body_fn body;
    int forbidden;   /* the outcome TSO forbids, -1 if every outcome is allowed */
};

/* SB: store buffering. TSO lets each load pass the thread's own earlier store: r0=r1=0 allowed. */
static void sb(int t, int k)
{
    if (t == 0) { ST(xs[k], 1); res[0][0][k] = LD(ys[k]); }
    else        { ST(ys[k], 1); res[1][0][k] = LD(xs[k]); }
}

/* SB with MFENCE between store and load: r0=r1=0 forbidden (SDM 8.2.3.4 with a fence). */
static void sb_mfence(int t, int k)
{
    if (t == 0) { ST(xs[k], 1); MFENCE(); res[0][0][k] = LD(ys[k]); }
    else        { ST(ys[k], 1); MFENCE(); res[1][0][k] = LD(xs[k]); }
}

/* MP: stores are not reordered with stores, loads not with loads: r0=1 (flag), r1=0 (data) forbidden. */
static void mp(int t, int k)
{
    if (t == 0) { ST(xs[k], 1); ST(ys[k], 1); }
    else        { res[1][0][k] = LD(ys[k]); res[1][1][k] = LD(xs[k]); }
}

/* LB: loads are not reordered with later stores: r0=r1=1 forbidden (SDM 8.2.3.3). */
static void lb(int t, int k)
{
    if (t == 0) { res[0][0][k] = LD(xs[k]); ST(ys[k], 1); }
    else        { res[1][0][k] = LD(ys[k]); ST(xs[k], 1); }
}

/* IRIW: stores are seen in one order by all: readers disagreeing (1,0 and 1,0) forbidden (SDM 8.2.3.7). */
static void iriw(int t, int k)
{
    switch (t) {
    case 0: ST(xs[k], 1); break;
    case 1: ST(ys[k], 1); break;
    case 2: res[2][0][k] = LD(xs[k]); res[2][1][k] = LD(ys[k]); break;
    case 3: res[3][0][k] = LD(ys[k]); res[3][1][k] = LD(xs[k]); break;
    }
}

static const struct test tests[] = {
    { "SB", 2, { 1, 1 }, sb, -1 },
    { "SB+mfence", 2, { 1, 1 }, sb_mfence, 0 },    /* r0=0,r1=0 */
    { "MP", 2, { 0, 2 }, mp, 2 },                  /* flag=1,data=0 */
    { "LB", 2, { 1, 1 }, lb, 3 },                  /* r0=1,r1=1 */
    { "IRIW", 4, { 0, 0, 2, 2 }, iriw, 10 },       /* 1,0 and 1,0 */
};

static long iters = 1000000, iriw_iters = -1;
static int sync_every = 1;          /* -b: iterations per barrier, 2-thread tests */
static int iriw_sync_every = -1;    /* -B: the same for IRIW; default 16 with fewer than 4 CPUs, else 1 */
static int run_sync;                /* the current test's */
static long run_iters;              /* the current test's */
static int ncpu;
static const char *current = "start";
static struct barrier bar;
static const struct test *cur;
static long counts[16], other;

static void on_alarm(int sig)
{
    (void)sig;
    /* async-signal-safe output only */
    char msg[128];
    int n = snprintf(msg, sizeof msg, "litmus: TIMEOUT in %s FAIL\nlitmus: 0 passed, 1 failed\n", current);
    write(1, msg, n);
    _exit(2);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pins the calling thread; returns 0 only if it then really runs on that CPU. */
static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -1;
    return sched_getcpu() == cpu ? 0 : -1;
}

static int pin_failed;

/* Outcome index of iteration k: one bit per recorded register, in thread order; -1 if not 0/1. */
static int outcome(int k)
{
    int idx = 0;
    for (int t = 0; t < cur->threads; t++) {
        for (int r = 0; r < cur->regs[t]; r++) {
            int v = res[t][r][k];
            if (v != 0 && v != 1)
                return -1;
            idx = idx * 2 + v;
        }
    }
    return idx;
}

static void *worker(void *arg)
{
    int t = (int)(long)arg, sense = 0;
    if (pin(t % ncpu) != 0)
        __atomic_store_n(&pin_failed, 1, __ATOMIC_RELAXED);
    for (long done = 0; done < run_iters; done += BATCH) {
        int n = run_iters - done < BATCH ? (int)(run_iters - done) : BATCH;
        for (int k = 0; k < n; k++) {
            if (k % run_sync == 0)
                barrier_wait(&bar, &sense);
            cur->body(t, k);
        }
        barrier_wait(&bar, &sense);
        if (t == 0) {       /* tally this batch and give the next one fresh zeroed locations */
            for (int k = 0; k < n; k++) {
                int o = outcome(k);
                if (o < 0) other++; else counts[o]++;
            }
            memset(xs, 0, sizeof xs);
            memset(ys, 0, sizeof ys);
            memset(res, 0xff, sizeof res);
        }
        barrier_wait(&bar, &sense);
    }
    return NULL;
}

static int run_threads(int n, void *(*fn)(void *))
{
    pthread_t th[MAXT];
    for (int t = 0; t < n; t++)
        if (pthread_create(&th[t], NULL, fn, (void *)(long)t) != 0)
            return -1;
    for (int t = 0; t < n; t++)
        pthread_join(th[t], NULL);
    return 0;
}

/* Prints one test's table row; returns 1 if it passed. */
static int run_test(const struct test *tst)
{
    cur = tst;
    current = tst->name;
    run_iters = tst->threads > 2 ? iriw_iters : iters;
    run_sync = tst->threads > 2 ? iriw_sync_every : sync_every;
    memset(counts, 0, sizeof counts);
    other = 0;
    pin_failed = 0;
    memset(xs, 0, sizeof xs);
    memset(ys, 0, sizeof ys);
    memset(res, 0xff, sizeof res);
    barrier_init(&bar, tst->threads, tst->threads > ncpu);
    double t0 = now();
    if (run_threads(tst->threads, worker) != 0) {
        printf("TEST %s cannot start threads FAIL\n", tst->name);
        return 0;
    }
    double secs = now() - t0;
    int bits = 0;
    for (int t = 0; t < tst->threads; t++)
        bits += tst->regs[t];
    long forbidden = 0, total = other;
    printf("TEST %s threads=%d iters=%ld sync-every=%d", tst->name, tst->threads, run_iters, run_sync);
    for (int o = 0; o < (1 << bits); o++) {
        total += counts[o];
        int is_forbidden = o == tst->forbidden;
        if (is_forbidden)
            forbidden += counts[o];
        printf(" ");
        for (int b = bits - 1; b >= 0; b--)
            putchar('0' + ((o >> b) & 1));
        printf("%s=%ld", is_forbidden ? "!" : "", counts[o]);
    }
    int pass = forbidden == 0 && other == 0 && total == run_iters && !pin_failed;
    printf(" other=%ld forbidden=%ld", other, forbidden);
    if (tst->forbidden < 0)         /* SB: say whether the store buffer's outcome showed */
        printf(" relaxed=%s", counts[0] ? "seen" : "not-seen");
    if (pin_failed)
        printf(" pinning=failed");
    printf(" secs=%.1f %s\n", secs, pass ? "PASS" : "FAIL");
    fflush(stdout);
    return pass;
}

/* ---- locked read-modify-write: exact counts from both CPUs ---- */

/* A dword that crosses a 64-byte line (so also an 8-byte boundary): a split lock on real CPUs. */
static unsigned char split_area[128] __attribute__((aligned(64)));
#define SPLIT ((int *)(split_area + 62))
static int xadd_ctr __attribute__((aligned(64)));
static int cas_ctr __attribute__((aligned(64)));
static int lock_word __attribute__((aligned(64)));
static int guarded __attribute__((aligned(64)));

static void lock_xadd(int *p)
{
    int one = 1;
    __asm__ __volatile__("lock xaddl %0, %1" : "+r"(one), "+m"(*p) :: "memory");
}

static void cas_inc(int *p)
{
    int old = LD(*p), seen;
    for (;;) {
        __asm__ __volatile__("lock cmpxchgl %2, %1" : "=a"(seen), "+m"(*p) : "r"(old + 1), "0"(old) : "memory", "cc");
        if (seen == old)
            return;
        old = seen;
    }
}

/* XCHG acquire, plain MOV release (what Linux's unlock is), plain read-modify-write inside. */
static void locked_section(void)
{
    int v = 1;
    do {
        __asm__ __volatile__("xchgl %0, %1" : "+r"(v), "+m"(lock_word) :: "memory");
        if (v != 0) { __asm__ __volatile__("pause" ::: "memory"); v = 1; }
    } while (v != 0);
    ST(guarded, LD(guarded) + 1);
    ST(lock_word, 0);
}

static void *rmw_worker(void *arg)
{
    int t = (int)(long)arg, sense = 0;
    if (pin(t % ncpu) != 0)
        __atomic_store_n(&pin_failed, 1, __ATOMIC_RELAXED);
    barrier_wait(&bar, &sense);     /* start together: the increments contend */
    for (long i = 0; i < iters; i++) {
        lock_xadd(&xadd_ctr);
        cas_inc(&cas_ctr);
        lock_xadd(SPLIT);
        locked_section();
    }
    return NULL;
}

static int run_rmw(void)
{
    current = "LOCKED";
    xadd_ctr = cas_ctr = lock_word = guarded = 0;
    *SPLIT = 0;
    pin_failed = 0;
    barrier_init(&bar, 2, 0);
    double t0 = now();
    if (run_threads(2, rmw_worker) != 0) {
        printf("TEST LOCKED cannot start threads FAIL\n");
        return 0;
    }
    double secs = now() - t0;
    long want = 2 * iters;
    int pass = xadd_ctr == want && cas_ctr == want && *SPLIT == want && guarded == want && lock_word == 0 && !pin_failed;
    printf("TEST LOCKED threads=2 iters=%ld expect=%ld xadd=%d cmpxchg=%d xadd-split=%d xchg-lock=%d%s secs=%.1f %s\n",
           iters, want, xadd_ctr, cas_ctr, *SPLIT, guarded, pin_failed ? " pinning=failed" : "", secs,
           pass ? "PASS" : "FAIL");
    fflush(stdout);
    return pass;
}

static int ncpu_online(void)
{
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* No test names after the options: every test. */
static int selected(int argc, char **argv, const char *name)
{
    if (optind >= argc)
        return 1;
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int timeout = 1800, opt;
    while ((opt = getopt(argc, argv, "n:i:b:B:t:")) != -1) {
        if (opt == 'n') iters = atol(optarg);
        else if (opt == 'i') iriw_iters = atol(optarg);
        else if (opt == 'b') sync_every = atoi(optarg) > 0 ? atoi(optarg) : 1;
        else if (opt == 'B') iriw_sync_every = atoi(optarg) > 0 ? atoi(optarg) : 1;
        else if (opt == 't') timeout = atoi(optarg);
        else { fprintf(stderr, "usage: litmus [-n ITERS] [-i IRIW_ITERS] [-b SYNC_EVERY] [-B IRIW_SYNC_EVERY] [-t SECONDS] [TEST...]\n"); return 2; }
    }
    if (iriw_iters < 0)
        iriw_iters = iters;
    if (iriw_sync_every < 0)
        iriw_sync_every = ncpu_online() >= 4 ? 1 : 16;
    ncpu = ncpu_online();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(timeout);     /* a hang (a lost release, a stuck barrier) must end as FAIL, not silence */
    printf("litmus: cpus=%d iters=%ld iriw-iters=%ld batch=%d\n", ncpu, iters, iriw_iters, BATCH);
    if (ncpu < 2) {
        printf("litmus: needs 2 CPUs, has %d FAIL\nlitmus: 0 passed, 1 failed\n", ncpu);
        return 1;
    }
    int passed = 0, failed = 0;
    double t0 = now();
    for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (selected(argc, argv, tests[i].name))
            run_test(&tests[i]) ? passed++ : failed++;
    if (selected(argc, argv, "LOCKED"))
        run_rmw() ? passed++ : failed++;
    printf("litmus: total secs=%.1f\n", now() - t0);
    printf("litmus: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
