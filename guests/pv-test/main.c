/*
 * xenj PV test kernel. Exercises the x86_32 PV ABI end to end and reports over the PV console:
 *  1. console output through the console ring (and console_io),
 *  2. shared_info mapped, event callback registered, VIRQ_TIMER bound, a single-shot timer,
 *  3. an event channel and a granted page shared with a Domain 0 (Java) test backend, which it
 *     finds through xenstore,
 *  4. a small blkfront: if the domain has a disk (device/vbd/51712), write a page, flush and read
 *     it back through Domain 0's blkback (io/blkif.h, x86_32 layout, one-page ring, grant refs),
 *  5. a small netfront (netfront.c): if the domain has a vif (device/vif/0), answer ARP and ICMP
 *     echo requests for its IPv4 address through Domain 0's netback (io/netif.h, rx by copy),
 *  6. SCHEDOP_shutdown with reason poweroff.
 * Structures are declared in pv.h from the ABI's numbers (no Xen headers needed).
 */
#include "pv.h"

#define M2P ((const u32 *)0xF5800000u)

struct xencons { char in[1024]; char out[2048]; u32 in_cons, in_prod, out_cons, out_prod; };
struct xenstore { char req[1024]; char rsp[1024]; u32 req_cons, req_prod, rsp_cons, rsp_prod; };

extern char hypercall_page[];
extern void hypervisor_callback(void);
extern void failsafe_callback(void);

struct start_info *si;
volatile struct shared_info *shared;
static volatile struct xencons *cons;
static volatile struct xenstore *store;
static volatile u32 events_seen[1024];
static u32 timer_port, backend_port;

static u8 shared_info_page[4096] __attribute__((aligned(4096)));
static u8 grant_table_page[4096] __attribute__((aligned(4096)));
static u8 shared_page[4096] __attribute__((aligned(4096)));
static u8 blk_ring_page[4096] __attribute__((aligned(4096)));
static u8 blk_data_page[4096] __attribute__((aligned(4096)));
static u8 wpt_alias[4096] __attribute__((aligned(4096)));
static u8 wpt_target[4096] __attribute__((aligned(4096)));

static u32 pfn_to_mfn(u32 pfn) { return ((const u32 *)si->mfn_list)[pfn]; }
u32 va_to_mfn(const void *va) { return pfn_to_mfn(((u32)va - VIRT_BASE) >> 12); }
static void *mfn_to_va(u32 mfn) { return (void *)(VIRT_BASE + (M2P[mfn] << 12)); }

long evtchn_op(int cmd, void *arg) { return HYPERCALL(HC_event_channel_op, cmd, arg, 0, 0, 0); }
void notify(u32 port) { u32 p = port; evtchn_op(EVTCHNOP_send, &p); }
void yield(void) { HYPERCALL(HC_sched_op, SCHEDOP_yield, 0, 0, 0, 0); }

/*
 * Waits until an event handler has counted an event on {@code port}. The check runs with events
 * masked and SCHEDOP_block unmasks and blocks atomically, so an event arriving between the check
 * and the block is not lost (it makes the block return at once).
 */
static void wait_for_event(u32 port) {
    for (;;) {
        shared->vcpu_info[0].upcall_mask = 1;
        barrier();
        if (events_seen[port]) break;
        HYPERCALL(HC_sched_op, SCHEDOP_block, 0, 0, 0, 0);
    }
    shared->vcpu_info[0].upcall_mask = 0;
}

u64 now_ns(void) {
    volatile struct vcpu_time_info *t = &shared->vcpu_info[0].time;
    u32 version, mul;
    u64 stamp, system;
    signed char shift;
    do { /* an odd or changed version: Xen was updating it meanwhile */
        version = t->version;
        barrier();
        stamp = t->tsc_timestamp;
        system = t->system_time;
        mul = t->mul;
        shift = t->shift;
        barrier();
    } while ((version & 1) || version != t->version);
    u64 tsc;
    __asm__ volatile("rdtsc" : "=A"(tsc));
    u64 delta = tsc - stamp;
    delta = shift < 0 ? delta >> -shift : delta << shift;
    /* (delta * mul) >> 32 without a 96-bit product */
    return system + (((delta & 0xffffffffu) * mul) >> 32) + (delta >> 32) * mul;
}

u32 slen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }

static void cons_write(const char *s, u32 n) {
    u32 prod = cons->out_prod;
    for (u32 i = 0; i < n; i++) {
        while (prod - cons->out_cons >= sizeof(cons->out)) {
            cons->out_prod = prod;
            notify(si->console_evtchn);
            yield();
        }
        cons->out[prod & (sizeof(cons->out) - 1)] = s[i];
        prod++;
    }
    mb();
    cons->out_prod = prod;
    notify(si->console_evtchn);
}

void print(const char *s) { cons_write(s, slen(s)); }

void print_num(u32 v) {
    char b[12];
    int i = 11;
    b[i] = 0;
    do { b[--i] = '0' + v % 10; v /= 10; } while (v);
    print(b + i);
}

/* Event upcall (events are masked on entry): collect pending ports, then unmask. */
void do_event(void) {
    volatile struct vcpu_info *vi = &shared->vcpu_info[0];
    vi->upcall_pending = 0;
    u32 sel = __sync_lock_test_and_set(&shared->vcpu_info[0].pending_sel, 0);
    while (sel) {
        int w = __builtin_ctz(sel);
        sel &= sel - 1;
        u32 pend = shared->evtchn_pending[w] & ~shared->evtchn_mask[w];
        while (pend) {
            int b = __builtin_ctz(pend);
            pend &= pend - 1;
            __sync_fetch_and_and(&shared->evtchn_pending[w], ~(1u << b));
            events_seen[w * 32 + b]++;
        }
    }
    vi->upcall_mask = 0;
}

/* ---- xenstore client: one request at a time over the ring */
static u32 xs_req_id;

static void xs_put(const void *p, u32 n) {
    const char *c = p;
    u32 prod = store->req_prod;
    for (u32 i = 0; i < n; i++) {
        while (prod - store->req_cons >= sizeof(store->req)) { yield(); }
        store->req[prod & (sizeof(store->req) - 1)] = c[i];
        prod++;
    }
    mb();
    store->req_prod = prod;
}

static void xs_get(void *p, u32 n) {
    char *c = p;
    for (u32 i = 0; i < n; i++) {
        while (store->rsp_prod == store->rsp_cons) { yield(); }
        c[i] = store->rsp[store->rsp_cons & (sizeof(store->rsp) - 1)];
        mb();
        store->rsp_cons++;
    }
}

u32 xs_request(u32 type, const char *path, const char *value, char *buf, u32 max) {
    u32 plen = slen(path) + 1;
    u32 vlen = value ? slen(value) : 0;
    u32 hdr[4] = { type, ++xs_req_id, 0, plen + vlen };
    xs_put(hdr, sizeof(hdr));
    xs_put(path, plen);
    if (vlen) xs_put(value, vlen);
    notify(si->store_evtchn);
    for (;;) {
        u32 r[4];
        xs_get(r, sizeof(r));
        char tmp[256];
        u32 n = r[3];
        for (u32 i = 0; i < n; i++) {
            char ch;
            xs_get(&ch, 1);
            if (i < sizeof(tmp)) tmp[i] = ch;
        }
        if (r[0] == XS_WATCH_EVENT) continue;
        u32 k = n < max - 1 ? n : max - 1;
        for (u32 i = 0; i < k; i++) buf[i] = tmp[i];
        buf[k] = 0;
        return r[0];
    }
}

int xs_write(const char *path, const char *value) {
    char buf[16];
    return xs_request(XS_WRITE, path, value, buf, sizeof(buf)) == XS_WRITE ? 0 : -1;
}

void fmt_num(char *out, u32 v) {
    char b[12];
    int i = 11, j = 0;
    b[i] = 0;
    do { b[--i] = '0' + v % 10; v /= 10; } while (v);
    while (b[i]) out[j++] = b[i++];
    out[j] = 0;
}

int streq(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return *a == *b; }

int xs_read_at(const char *dir, const char *leaf, char *buf, u32 max) {
    char path[192];
    u32 n = 0;
    for (const char *p = dir; *p && n < sizeof(path) - 2; p++) path[n++] = *p;
    path[n++] = '/';
    for (const char *p = leaf; *p && n < sizeof(path) - 1; p++) path[n++] = *p;
    path[n] = 0;
    return xs_request(XS_READ, path, 0, buf, max) == XS_READ ? 0 : -1;
}

const char *cmdline_value(const char *key, char *buf, u32 max) {
    const char *c = si->cmd_line;
    u32 k = slen(key);
    for (u32 i = 0; c[i] && i < sizeof(si->cmd_line); i++) {
        if (i > 0 && c[i - 1] != ' ') continue;
        u32 j = 0;
        while (j < k && c[i + j] == key[j]) j++;
        if (j < k || c[i + k] != '=') continue;
        u32 n = 0;
        for (const char *v = c + i + k + 1; *v && *v != ' ' && n < max - 1; v++) buf[n++] = *v;
        buf[n] = 0;
        return buf;
    }
    return 0;
}

static __attribute__((noreturn)) void shutdown(int reason) {
    u32 r = reason;
    HYPERCALL(HC_sched_op, SCHEDOP_shutdown, &r, 0, 0, 0);
    for (;;) yield();
}

void fail(const char *why) {
    print("pv-test: FAIL ");
    print(why);
    print("\n");
    shutdown(3); /* crash */
}

/* ---- blkfront: io/blkif.h in its x86_32 layout (the id follows the 4-byte head directly) */
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLK_RING_REF 9
#define BLK_DATA_REF 10
struct blkif_segment { u32 gref; u8 first_sect, last_sect; u16 pad; };
struct blkif_request { u8 operation, nr_segments; u16 handle; u32 id_lo, id_hi, sector_lo, sector_hi; struct blkif_segment seg[11]; };
struct blkif_response { u32 id_lo, id_hi; u8 operation, pad; short status; };
struct blkif_sring { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; struct blkif_request ring[32]; };

static volatile struct blkif_sring *blk_ring;
static u32 blk_port, blk_req_prod;

/* Puts one request on the ring, signals, and waits for its response; returns the status. */
static int blk_do(u8 op, u32 sector, int with_data) {
    volatile struct blkif_request *r = &blk_ring->ring[blk_req_prod & 31];
    r->operation = op;
    r->nr_segments = with_data ? 1 : 0;
    r->handle = 0;
    r->id_lo = 0x4000 + blk_req_prod;
    r->id_hi = 0;
    r->sector_lo = sector;
    r->sector_hi = 0;
    r->seg[0].gref = BLK_DATA_REF;
    r->seg[0].first_sect = 0;
    r->seg[0].last_sect = 7;
    blk_req_prod++;
    mb();
    blk_ring->req_prod = blk_req_prod;
    mb();
    notify(blk_port);
    for (;;) {
        shared->vcpu_info[0].upcall_mask = 1;
        barrier();
        if (blk_ring->rsp_prod == blk_req_prod) break;
        blk_ring->rsp_event = blk_req_prod;
        mb();
        if (blk_ring->rsp_prod == blk_req_prod) break;
        HYPERCALL(HC_sched_op, SCHEDOP_block, 0, 0, 0, 0);
    }
    shared->vcpu_info[0].upcall_mask = 0;
    volatile struct blkif_response *rsp = (volatile struct blkif_response *)&blk_ring->ring[(blk_req_prod - 1) & 31];
    if (rsp->id_lo != 0x4000 + blk_req_prod - 1 || rsp->operation != op) fail("blkfront: response id or operation");
    return rsp->status;
}

void blkfront(volatile struct grant_entry *gt) {
    char be[128], state[16], num[12], sectors[24];
    if (xs_request(XS_READ, "device/vbd/51712/backend", 0, be, sizeof(be)) != XS_READ) {
        print("pv-test: no disk, blkfront skipped\n");
        return;
    }
    blk_ring = (volatile struct blkif_sring *)blk_ring_page;
    blk_ring->req_prod = blk_ring->rsp_prod = 0;
    blk_ring->req_event = blk_ring->rsp_event = 1;
    gt[BLK_RING_REF].domid = 0;
    gt[BLK_RING_REF].frame = va_to_mfn(blk_ring_page);
    gt[BLK_DATA_REF].domid = 0;
    gt[BLK_DATA_REF].frame = va_to_mfn(blk_data_page);
    mb();
    gt[BLK_RING_REF].flags = GTF_permit_access;
    gt[BLK_DATA_REF].flags = GTF_permit_access;
    struct { u16 dom, remote; u32 port; } au = { DOMID_SELF, 0, 0 };
    if (evtchn_op(EVTCHNOP_alloc_unbound, &au) != 0) fail("blkfront: alloc_unbound");
    blk_port = au.port;
    fmt_num(num, blk_port);
    if (xs_write("device/vbd/51712/ring-ref", "9") || xs_write("device/vbd/51712/event-channel", num)
            || xs_write("device/vbd/51712/protocol", "x86_32-abi") || xs_write("device/vbd/51712/state", "3"))
        fail("blkfront: xenstore write");
    u32 n = slen(be);
    char path[160];
    for (u32 i = 0; i < n; i++) path[i] = be[i];
    const char *st = "/state";
    for (u32 i = 0; i <= slen(st); i++) path[n + i] = st[i];
    for (u32 tries = 0;; tries++) {
        if (xs_request(XS_READ, path, 0, state, sizeof(state)) == XS_READ && streq(state, "4")) break;
        if (tries > 2000000) fail("blkfront: the backend did not connect");
        yield();
    }
    const char *sec = "/sectors";
    for (u32 i = 0; i <= slen(sec); i++) path[n + i] = sec[i];
    if (xs_request(XS_READ, path, 0, sectors, sizeof(sectors)) != XS_READ) fail("blkfront: no sectors");
    print("pv-test: blkfront connected to ");
    print(be);
    print(" (");
    print(sectors);
    print(" sectors)\n");
    for (u32 i = 0; i < 4096; i++) blk_data_page[i] = (u8)(i * 7 + 3);
    if (blk_do(BLKIF_OP_WRITE, 8, 1) != 0) fail("blkfront: write");
    if (blk_do(BLKIF_OP_FLUSH_DISKCACHE, 0, 0) != 0) fail("blkfront: flush");
    for (u32 i = 0; i < 4096; i++) blk_data_page[i] = 0;
    if (blk_do(BLKIF_OP_READ, 8, 1) != 0) fail("blkfront: read");
    for (u32 i = 0; i < 4096; i++)
        if (blk_data_page[i] != (u8)(i * 7 + 3)) fail("blkfront: read back other bytes");
    if (blk_do(BLKIF_OP_READ, 0x7fffffff, 1) == 0) fail("blkfront: a read past the end succeeded");
    if (xs_write("device/vbd/51712/state", "6")) fail("blkfront: close");
    print("pv-test: blkfront wrote, flushed and read back 4096 bytes at sector 8: ok\n");
}

/*
 * Writable page tables (VMASST_TYPE_writable_pagetables, which the FEATURES note requires): finds the
 * L1 entry of wpt_alias by walking its own tables (L3 at pt_base, machine frames to pages through
 * the M2P), stores a new entry into it with plain stores -- the high half, then the low half, as
 * Linux writes PAE entries -- so that wpt_alias shows wpt_target, uses that mapping both ways, and
 * puts the old entry back with one lock cmpxchg8b.
 */
static void writable_page_tables(void) {
    if (HYPERCALL(HC_vm_assist, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables, 0, 0, 0) != 0)
        fail("vm_assist(writable_pagetables)");
    u32 va = (u32)wpt_alias;
    volatile u64 *l3 = (volatile u64 *)si->pt_base;
    volatile u64 *l2 = mfn_to_va((u32)(l3[va >> 30] >> 12) & 0xffffff);
    volatile u64 *l1 = mfn_to_va((u32)(l2[(va >> 21) & 511] >> 12) & 0xffffff);
    volatile u32 *half = (volatile u32 *)&l1[(va >> 12) & 511];
    u64 old = l1[(va >> 12) & 511];
    volatile u8 *alias = wpt_alias, *target = wpt_target; /* the compiler must not assume they differ */
    for (u32 i = 0; i < 4096; i++) target[i] = (u8)(i ^ 0x5a);
    u32 lo = va_to_mfn(wpt_target) << 12 | 0x67; /* present, writable, user, accessed, dirty */
    half[1] = 0;
    half[0] = lo;
    struct { u32 cmd, arg1, arg2; } op = { MMUEXT_INVLPG_LOCAL, va, 0 };
    if (HYPERCALL(HC_mmuext_op, &op, 1, 0, DOMID_SELF, 0) != 0) fail("invlpg");
    for (u32 i = 0; i < 4096; i++)
        if (alias[i] != (u8)(i ^ 0x5a)) fail("writable page tables: the alias does not show the target page");
    alias[100] = 0xa5; /* checked on target after the next hypercall: the JIT's lockstep checker buffers
                          stores by linear address, so it cannot see them through an alias in the same block */
    u32 exp_lo = lo, exp_hi = 0;
    u32 new_lo = (u32)old, new_hi = (u32)(old >> 32);
    u8 swapped;
    __asm__ volatile("lock; cmpxchg8b %1; sete %0"
                     : "=q"(swapped), "+m"(l1[(va >> 12) & 511]), "+a"(exp_lo), "+d"(exp_hi)
                     : "b"(new_lo), "c"(new_hi)
                     : "memory", "cc");
    if (!swapped || l1[(va >> 12) & 511] != old) fail("writable page tables: cmpxchg8b did not restore the entry");
    if (HYPERCALL(HC_mmuext_op, &op, 1, 0, DOMID_SELF, 0) != 0) fail("invlpg");
    if (target[100] != 0xa5) fail("writable page tables: a store through the alias missed the target page");
    alias[0] = 1;
    if (target[0] == 1) fail("writable page tables: the alias still shows the target page");
    print("pv-test: writable page tables: stores into its own L1 mapped and unmapped a page: ok\n");
}

/* count mode: the software interrupt's handler (head.S) counts here */
extern void soft_trap(void);
volatile u32 soft_traps;

/*
 * count=<ms>: a workload for save/restore tests instead of steps 3-6. It counts, once a tick of
 * <ms> of Xen system time (single-shot timer, VIRQ_TIMER), through an int $0x81 its own trap table
 * sends to soft_trap, and prints "pv-test: count N traps T" every 10 ticks; every 10 ticks it also
 * writes the count to data/count in xenstore and reads control/shutdown, and powers off when that
 * says anything. A lost trap table makes the int a #GP the kernel has no handler for (the domain
 * crashes); a lost timer binding stops the count; a lost xenstore ring hangs it.
 */
static void count_mode(u32 ms) {
    struct { u8 vector, flags; u16 cs; u32 address; } traps[2] = { { 0x81, 1, 0xe019, (u32)soft_trap }, { 0, 0, 0, 0 } };
    if (HYPERCALL(HC_set_trap_table, traps, 0, 0, 0, 0) != 0) fail("set_trap_table");
    u32 seen = events_seen[timer_port];
    for (u32 n = 1;; n++) {
        u64 when = now_ns() + (u64)ms * 1000000ull;
        HYPERCALL(HC_set_timer_op, (u32)when, (u32)(when >> 32), 0, 0, 0);
        for (;;) { /* as wait_for_event, for the next event on the port */
            shared->vcpu_info[0].upcall_mask = 1;
            barrier();
            if (events_seen[timer_port] != seen) break;
            HYPERCALL(HC_sched_op, SCHEDOP_block, 0, 0, 0, 0);
        }
        shared->vcpu_info[0].upcall_mask = 0;
        seen = events_seen[timer_port];
        __asm__ volatile("int $0x81" ::: "memory");
        if (soft_traps != n) fail("count mode: the trap handler did not count");
        if (n % 10 == 0) {
            char num[12], buf[32];
            fmt_num(num, n);
            print("pv-test: count ");
            print(num);
            print(" traps ");
            print_num(soft_traps);
            print("\n");
            if (xs_write("data/count", num)) fail("count mode: xenstore write");
            if (xs_request(XS_READ, "control/shutdown", 0, buf, sizeof(buf)) == XS_READ && buf[0]) {
                print("pv-test: counted ");
                print(num);
                print(", asked to shut down\n");
                shutdown(SHUTDOWN_poweroff);
            }
        }
    }
}

void kernel_main(struct start_info *start) {
    si = start;
    cons = mfn_to_va(si->console_mfn);
    store = mfn_to_va(si->store_mfn);
    print("pv-test: hello from a xenj PV guest (");
    print(si->magic);
    print(", ");
    print_num(si->nr_pages);
    print(" pages)\n");
    const char *msg = "pv-test: console_io works\n";
    HYPERCALL(HC_console_io, 0, slen(msg), msg, 0, 0);
    writable_page_tables();

    /* shared_info, callbacks, timer */
    if (HYPERCALL(HC_update_va_mapping, shared_info_page, si->shared_info | 7, 0, UVMF_INVLPG, 0) != 0)
        fail("mapping shared_info");
    shared = (volatile struct shared_info *)shared_info_page;
    HYPERCALL(HC_set_callbacks, 0xe019, hypervisor_callback, 0xe019, failsafe_callback, 0);
    struct { u32 virq, vcpu, port; } bv = { VIRQ_TIMER, 0, 0 };
    if (evtchn_op(EVTCHNOP_bind_virq, &bv) != 0) fail("bind_virq");
    timer_port = bv.port;
    u64 now = shared->vcpu_info[0].time.system_time;
    u64 when = now + 10000000ull; /* 10 ms */
    HYPERCALL(HC_set_timer_op, (u32)when, (u32)(when >> 32), 0, 0, 0);
    wait_for_event(timer_port);
    print("pv-test: timer fired on port ");
    print_num(timer_port);
    print("\n");
    char cbuf[12];
    if (cmdline_value("count", cbuf, sizeof(cbuf))) {
        u32 ms = 0;
        for (const char *p = cbuf; *p >= '0' && *p <= '9'; p++) ms = ms * 10 + (u32)(*p - '0');
        count_mode(ms ? ms : 10);
    }

    /* a page and a port for the Domain 0 backend, announced in xenstore */
    struct { u16 dom, nr; u32 nr_frames; u16 status, pad; u32 frame_list; } st = { DOMID_SELF, 0, 1, 0, 0, 0 };
    u32 gframe = 0;
    st.frame_list = (u32)&gframe;
    if (HYPERCALL(HC_grant_table_op, GNTTABOP_setup_table, &st, 1, 0, 0) != 0 || st.status != 0) fail("setup_table");
    if (HYPERCALL(HC_update_va_mapping, grant_table_page, (gframe << 12) | 7, 0, UVMF_INVLPG, 0) != 0)
        fail("mapping the grant table");
    volatile struct grant_entry *gt = (volatile struct grant_entry *)grant_table_page;
    const char *hello = "xenj-grant-ok";
    for (u32 i = 0; i <= slen(hello); i++) shared_page[i] = hello[i];
    gt[8].domid = 0;
    gt[8].frame = va_to_mfn(shared_page);
    mb();
    gt[8].flags = GTF_permit_access;
    struct { u16 dom, remote; u32 port; } au = { DOMID_SELF, 0, 0 };
    if (evtchn_op(EVTCHNOP_alloc_unbound, &au) != 0) fail("alloc_unbound");
    backend_port = au.port;
    char num[12];
    fmt_num(num, backend_port);
    if (xs_write("data/pv-test/ring-ref", "8") || xs_write("data/pv-test/port", num)
            || xs_write("data/pv-test/state", "ready"))
        fail("xenstore write");
    print("pv-test: offered grant 8 and port ");
    print(num);
    print(" to dom0\n");
    wait_for_event(backend_port);
    if (!streq((const char *)shared_page + 2048, "backend-was-here")) fail("backend reply in the granted page");
    char state[32];
    if (xs_request(XS_READ, "data/pv-test/state", 0, state, sizeof(state)) != XS_READ || !streq(state, "connected"))
        fail("xenstore state");
    print("pv-test: grant shared with dom0: ok\n");
    blkfront(gt);
    netfront(gt);
    print("pv-test: all done, powering off\n");
    shutdown(SHUTDOWN_poweroff);
}
