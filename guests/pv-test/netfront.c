/*
 * pv-test step 6: a small netfront. Xen's io/netif.h with one queue, the copying receive path
 * (request-rx-copy: the backend grant-copies each frame into an rx buffer page this domain granted)
 * and no scatter-gather (a frame fits one page). It answers ARP requests for its IPv4 address and
 * ICMP echo requests to it, sending each reply from a granted tx page, until Domain 0 asks the
 * domain to shut down (xenstore control/shutdown) or net_secs= seconds have passed; then it closes
 * the device and prints what it did. Its MAC is the vif's (device/vif/0/mac); its address is ip=
 * on the kernel command line, 10.9.0.2 without one.
 */
#include "pv.h"

#define VIF "device/vif/0"
#define NET_TX_RING_REF 11
#define NET_RX_RING_REF 12
#define NET_RX_BUFS 8
#define NET_RX_REF0 16 /* rx buffer i is granted as ref 16 + i */
#define NET_TX_BUFS 4
#define NET_TX_REF0 24 /* tx buffer i is granted as ref 24 + i */
#define NET_RING_SIZE 256 /* both rings: the largest power of two of entries in a page after the 64-byte header */
#define NETRXF_more_data 4
#define NETRXF_extra_info 8
#define NETIF_RSP_OKAY 0
#define ETH_ZLEN 60 /* the shortest Ethernet frame without FCS: shorter replies are padded */
#define DEFAULT_IP 0x0A090002u /* 10.9.0.2 */
#define DEFAULT_SECS 60

struct netif_tx_request { u32 gref; u16 offset, flags, id, size; };
struct netif_tx_response { u16 id; short status; };
struct netif_rx_request { u16 id, pad; u32 gref; };
struct netif_rx_response { u16 id, offset, flags; short status; };
union netif_tx_entry { struct netif_tx_request req; struct netif_tx_response rsp; };
union netif_rx_entry { struct netif_rx_request req; struct netif_rx_response rsp; };
struct netif_tx_sring { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; union netif_tx_entry ring[NET_RING_SIZE]; };
struct netif_rx_sring { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; union netif_rx_entry ring[NET_RING_SIZE]; };
_Static_assert(sizeof(struct netif_tx_request) == 12 && sizeof(struct netif_rx_response) == 8, "netif.h sizes");
_Static_assert(sizeof(struct netif_tx_sring) <= 4096 && sizeof(struct netif_rx_sring) <= 4096, "rings fit a page");

static u8 tx_ring_page[4096] __attribute__((aligned(4096)));
static u8 rx_ring_page[4096] __attribute__((aligned(4096)));
static u8 rx_bufs[NET_RX_BUFS][4096] __attribute__((aligned(4096)));
static u8 tx_bufs[NET_TX_BUFS][4096] __attribute__((aligned(4096)));

static volatile struct netif_tx_sring *txr;
static volatile struct netif_rx_sring *rxr;
static u32 net_port, tx_req_prod, tx_rsp_cons, rx_req_prod, rx_rsp_cons;
static u8 tx_busy[NET_TX_BUFS];
static u8 my_mac[6];
static u32 my_ip, mtu;
static u16 ip_id;
static u32 arp_answered, echo_answered, dropped, ignored, tx_errors;

static u32 get16(const u8 *p) { return (u32)p[0] << 8 | p[1]; }
static u32 get32(const u8 *p) { return get16(p) << 16 | get16(p + 2); }
static void put16(u8 *p, u32 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { put16(p, v >> 16); put16(p + 2, v); }
static void copy(u8 *to, const u8 *from, u32 n) { for (u32 i = 0; i < n; i++) to[i] = from[i]; }
static int same(const u8 *a, const u8 *b, u32 n) { for (u32 i = 0; i < n; i++) if (a[i] != b[i]) return 0; return 1; }

/* The Internet checksum (RFC 1071): 0 over a header or message that carries a correct one. */
static u32 inet_checksum(const u8 *p, u32 n) {
    u32 sum = 0;
    for (u32 i = 0; i + 1 < n; i += 2) sum += get16(p + i);
    if (n & 1) sum += (u32)p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

static int hexdigit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int parse_mac(const char *s, u8 *mac) {
    for (int i = 0; i < 6; i++) {
        int hi = hexdigit(s[3 * i]), lo = hi < 0 ? -1 : hexdigit(s[3 * i + 1]);
        if (lo < 0 || s[3 * i + 2] != (i < 5 ? ':' : 0)) return -1;
        mac[i] = (u8)(hi << 4 | lo);
    }
    return 0;
}

static int parse_ip(const char *s, u32 *ip) {
    u32 v = 0;
    for (int i = 0; i < 4; i++) {
        u32 octet = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3) { octet = octet * 10 + (u32)(*s++ - '0'); digits++; }
        if (digits == 0 || octet > 255 || *s != (i < 3 ? '.' : 0)) return -1;
        if (i < 3) s++;
        v = v << 8 | octet;
    }
    *ip = v;
    return 0;
}

static void print_ip(u32 ip) {
    for (int i = 3; i >= 0; i--) {
        print_num(ip >> (8 * i) & 0xff);
        if (i) print(".");
    }
}

static u32 number(const char *s, u32 otherwise) {
    u32 v = 0;
    if (!*s) return otherwise;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000) return otherwise;
        v = v * 10 + (u32)(*s - '0');
    }
    return v;
}

/* ---- the rings */

static void rx_post(u32 id) {
    volatile struct netif_rx_request *q = &rxr->ring[rx_req_prod % NET_RING_SIZE].req;
    q->id = (u16)id;
    q->gref = NET_RX_REF0 + id;
    rx_req_prod++;
}

static void rx_push(void) {
    mb();
    rxr->req_prod = rx_req_prod;
    mb();
    notify(net_port); /* always: simpler than req_event arithmetic, and cheap at this rate */
}

static void tx_reclaim(void) {
    u32 prod = txr->rsp_prod;
    mb();
    while (tx_rsp_cons != prod) {
        volatile struct netif_tx_response *r = &txr->ring[tx_rsp_cons % NET_RING_SIZE].rsp;
        u32 id = r->id;
        int status = r->status;
        if (id >= NET_TX_BUFS) fail("netfront: tx response for a buffer never sent");
        tx_busy[id] = 0;
        if (status != NETIF_RSP_OKAY) tx_errors++;
        tx_rsp_cons++;
    }
}

static int tx_idle(void) {
    for (u32 i = 0; i < NET_TX_BUFS; i++) if (tx_busy[i]) return 0;
    return 1;
}

/*
 * Blocks until a response arrives on a ring we wait for, or until the system time {@code until}.
 * Events are masked while the rings are checked; SCHEDOP_block unmasks and blocks atomically, so
 * a notification between the check and the block makes the block return at once.
 */
static void net_wait(int for_rx, int for_tx, u64 until) {
    shared->vcpu_info[0].upcall_mask = 1;
    barrier();
    if (for_rx) rxr->rsp_event = rx_rsp_cons + 1;
    if (for_tx) txr->rsp_event = tx_rsp_cons + 1;
    mb();
    int ready = (for_rx && rxr->rsp_prod != rx_rsp_cons) || (for_tx && txr->rsp_prod != tx_rsp_cons);
    if (!ready && now_ns() < until) {
        HYPERCALL(HC_set_timer_op, (u32)until, (u32)(until >> 32), 0, 0, 0);
        HYPERCALL(HC_sched_op, SCHEDOP_block, 0, 0, 0, 0);
    }
    shared->vcpu_info[0].upcall_mask = 0;
}

/* A free tx buffer (waiting for the backend to answer earlier ones if all are out). */
static u8 *tx_buffer(u32 *id) {
    u64 give_up = now_ns() + 5000000000ull;
    for (;;) {
        tx_reclaim();
        for (u32 i = 0; i < NET_TX_BUFS; i++) {
            if (!tx_busy[i]) {
                *id = i;
                return tx_bufs[i];
            }
        }
        if (now_ns() > give_up) fail("netfront: the backend answered no tx request for 5 s");
        net_wait(0, 1, now_ns() + 100000000ull);
    }
}

/* Sends tx buffer {@code id}'s first {@code len} bytes (padded to the Ethernet minimum). */
static void tx_send(u32 id, u32 len) {
    for (; len < ETH_ZLEN; len++) tx_bufs[id][len] = 0;
    volatile struct netif_tx_request *q = &txr->ring[tx_req_prod % NET_RING_SIZE].req;
    q->gref = NET_TX_REF0 + id;
    q->offset = 0;
    q->flags = 0; /* checksums are filled in; one slot */
    q->id = (u16)id;
    q->size = (u16)len;
    tx_busy[id] = 1;
    tx_req_prod++;
    mb();
    txr->req_prod = tx_req_prod;
    mb();
    notify(net_port);
}

/* ---- the protocols: ARP (RFC 826) and ICMP echo (RFC 792) over IPv4 */

static void on_arp(const u8 *f, u32 len) {
    if (len < 42 || get16(f + 14) != 1 || get16(f + 16) != 0x0800 || f[18] != 6 || f[19] != 4) {
        dropped++;
        return;
    }
    if (get16(f + 20) != 1 || get32(f + 38) != my_ip) { /* not a request for us */
        ignored++;
        return;
    }
    u32 id;
    u8 *r = tx_buffer(&id);
    copy(r, f + 22, 6); /* to the sender's hardware address */
    copy(r + 6, my_mac, 6);
    put16(r + 12, 0x0806);
    put16(r + 14, 1);
    put16(r + 16, 0x0800);
    r[18] = 6;
    r[19] = 4;
    put16(r + 20, 2); /* reply */
    copy(r + 22, my_mac, 6);
    put32(r + 28, my_ip);
    copy(r + 32, f + 22, 10); /* the sender becomes the target */
    tx_send(id, 42);
    arp_answered++;
}

static void on_ipv4(const u8 *f, u32 len) {
    const u8 *ip = f + 14;
    u32 avail = len - 14;
    if (avail < 20 || ip[0] >> 4 != 4) {
        dropped++;
        return;
    }
    u32 ihl = (ip[0] & 15) * 4u, total = get16(ip + 2);
    if (ihl < 20 || total < ihl || total > avail || inet_checksum(ip, ihl) != 0) {
        dropped++;
        return;
    }
    if (get32(ip + 16) != my_ip || ip[9] != 1 || (get16(ip + 6) & 0x3fff)) {
        ignored++; /* not to us, not ICMP, or a fragment (nothing is reassembled) */
        return;
    }
    const u8 *icmp = ip + ihl;
    u32 n = total - ihl;
    if (n < 8 || inet_checksum(icmp, n) != 0) {
        dropped++;
        return;
    }
    if (icmp[0] != 8 || icmp[1] != 0) {
        ignored++;
        return;
    }
    u32 id;
    u8 *r = tx_buffer(&id);
    copy(r, f + 6, 6);
    copy(r + 6, my_mac, 6);
    put16(r + 12, 0x0800);
    u8 *rip = r + 14; /* a fresh 20-byte header: the request's options are not echoed */
    rip[0] = 0x45;
    rip[1] = 0;
    put16(rip + 2, 20 + n);
    put16(rip + 4, ++ip_id);
    put16(rip + 6, 0);
    rip[8] = 64;
    rip[9] = 1;
    put16(rip + 10, 0);
    put32(rip + 12, my_ip);
    copy(rip + 16, ip + 12, 4);
    put16(rip + 10, inet_checksum(rip, 20));
    u8 *ric = rip + 20;
    copy(ric, icmp, n); /* identifier, sequence number and data come back unchanged */
    ric[0] = 0; /* echo reply */
    put16(ric + 2, 0);
    put16(ric + 2, inet_checksum(ric, n));
    tx_send(id, 14 + 20 + n);
    echo_answered++;
}

static void on_frame(const u8 *f, u32 len) {
    static const u8 broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    if (len < 14) {
        dropped++;
    } else if (!same(f, my_mac, 6) && !same(f, broadcast, 6)) {
        ignored++;
    } else if (len > mtu + 14) {
        dropped++;
    } else if (get16(f + 12) == 0x0806) {
        on_arp(f, len);
    } else if (get16(f + 12) == 0x0800) {
        on_ipv4(f, len);
    } else {
        ignored++;
    }
}

/* Handles every rx response so far and gives its buffer back to the backend. */
static void rx_poll(void) {
    int posted = 0;
    for (;;) {
        u32 prod = rxr->rsp_prod;
        mb();
        if (rx_rsp_cons == prod) break;
        while (rx_rsp_cons != prod) {
            volatile struct netif_rx_response *r = &rxr->ring[rx_rsp_cons % NET_RING_SIZE].rsp;
            u32 id = r->id, offset = r->offset, flags = r->flags;
            int status = r->status;
            rx_rsp_cons++;
            if (id >= NET_RX_BUFS) fail("netfront: rx response for a buffer never posted");
            if (status > 0 && offset + (u32)status <= 4096 && !(flags & (NETRXF_more_data | NETRXF_extra_info)))
                on_frame(rx_bufs[id] + offset, (u32)status);
            else
                dropped++;
            rx_post(id);
            posted = 1;
        }
    }
    if (posted) rx_push();
}

/* ---- the device: xenbus handshake, serving, closing */

static int backend_state(const char *be) {
    char st[8];
    return xs_read_at(be, "state", st, sizeof(st)) == 0 ? (int)number(st, 0) : 0;
}

static void wait_backend_state(const char *be, int want, const char *what) {
    char why[128];
    for (u32 tries = 0;; tries++) {
        int st = backend_state(be);
        if (st == want) return;
        if (st >= 5 && want < 5) {
            print("pv-test: netfront: backend closing: ");
            print(xs_read_at(be, "error", why, sizeof(why)) == 0 ? why : "(no error node)");
            print("\n");
            fail(what);
        }
        if (tries > 2000000) fail(what);
        yield();
    }
}

void netfront(volatile struct grant_entry *gt) {
    char be[128], buf[64], num[12];
    if (xs_request(XS_READ, VIF "/backend", 0, be, sizeof(be)) != XS_READ) {
        print("pv-test: no vif, netfront skipped\n");
        return;
    }
    if (xs_request(XS_READ, VIF "/mac", 0, buf, sizeof(buf)) != XS_READ || parse_mac(buf, my_mac)) fail("netfront: no mac");
    my_ip = DEFAULT_IP;
    if (cmdline_value("ip", buf, sizeof(buf)) && parse_ip(buf, &my_ip)) fail("netfront: ip= is not a dotted IPv4 address");
    u32 secs = cmdline_value("net_secs", buf, sizeof(buf)) ? number(buf, DEFAULT_SECS) : DEFAULT_SECS;
    mtu = xs_read_at(be, "mtu", buf, sizeof(buf)) == 0 ? number(buf, 1500) : 1500;
    if (mtu < 68 || mtu > 4096 - 14) mtu = 1500; /* one page per frame: no scatter-gather here */
    if (xs_read_at(be, "feature-rx-copy", buf, sizeof(buf)) || !streq(buf, "1")) fail("netfront: backend offers no feature-rx-copy");
    wait_backend_state(be, 2, "netfront: backend never reached InitWait");

    txr = (volatile struct netif_tx_sring *)tx_ring_page;
    rxr = (volatile struct netif_rx_sring *)rx_ring_page;
    txr->req_prod = txr->rsp_prod = rxr->req_prod = rxr->rsp_prod = 0;
    txr->req_event = txr->rsp_event = rxr->req_event = rxr->rsp_event = 1;
    gt[NET_TX_RING_REF].frame = va_to_mfn(tx_ring_page);
    gt[NET_RX_RING_REF].frame = va_to_mfn(rx_ring_page);
    for (u32 i = 0; i < NET_RX_BUFS; i++) gt[NET_RX_REF0 + i].frame = va_to_mfn(rx_bufs[i]);
    for (u32 i = 0; i < NET_TX_BUFS; i++) gt[NET_TX_REF0 + i].frame = va_to_mfn(tx_bufs[i]);
    for (u32 r = NET_TX_RING_REF; r < NET_TX_REF0 + NET_TX_BUFS; r++) gt[r].domid = 0;
    mb();
    gt[NET_TX_RING_REF].flags = GTF_permit_access;
    gt[NET_RX_RING_REF].flags = GTF_permit_access;
    for (u32 i = 0; i < NET_RX_BUFS; i++) gt[NET_RX_REF0 + i].flags = GTF_permit_access;
    for (u32 i = 0; i < NET_TX_BUFS; i++) gt[NET_TX_REF0 + i].flags = GTF_permit_access | GTF_readonly;
    struct { u16 dom, remote; u32 port; } au = { DOMID_SELF, 0, 0 };
    if (evtchn_op(EVTCHNOP_alloc_unbound, &au) != 0) fail("netfront: alloc_unbound");
    net_port = au.port;
    fmt_num(num, net_port);
    if (xs_write(VIF "/tx-ring-ref", STR(NET_TX_RING_REF)) || xs_write(VIF "/rx-ring-ref", STR(NET_RX_RING_REF))
            || xs_write(VIF "/event-channel", num) || xs_write(VIF "/request-rx-copy", "1")
            || xs_write(VIF "/feature-rx-notify", "1") || xs_write(VIF "/state", "3"))
        fail("netfront: xenstore write");
    wait_backend_state(be, 4, "netfront: the backend did not connect");
    if (xs_write(VIF "/state", "4")) fail("netfront: xenstore write");
    for (u32 i = 0; i < NET_RX_BUFS; i++) rx_post(i);
    rx_push();
    print("pv-test: netfront: connected to ");
    print(be);
    print(", mac ");
    print(xs_request(XS_READ, VIF "/mac", 0, buf, sizeof(buf)) == XS_READ ? buf : "?");
    print(", ip ");
    print_ip(my_ip);
    print(", mtu ");
    print_num(mtu);
    print("\n");

    /* serve until control/shutdown is written or the time is up (checked every 100 ms) */
    u64 end = now_ns() + (u64)secs * 1000000000ull;
    u64 next_check = 0;
    const char *why = "time is up";
    for (;;) {
        rx_poll();
        tx_reclaim();
        u64 now = now_ns();
        if (now >= next_check) {
            if (xs_request(XS_READ, "control/shutdown", 0, buf, sizeof(buf)) == XS_READ && buf[0]) {
                why = "asked to shut down";
                break;
            }
            if (now >= end) break;
            next_check = now + 100000000ull;
        }
        net_wait(1, 1, next_check);
    }
    for (u64 until = now_ns() + 1000000000ull; !tx_idle() && now_ns() < until;) {
        net_wait(0, 1, now_ns() + 100000000ull);
        tx_reclaim();
    }
    print("pv-test: netfront: ");
    print(why);
    print("; answered ");
    print_num(arp_answered);
    print(" ARP, ");
    print_num(echo_answered);
    print(" echo; dropped ");
    print_num(dropped);
    print(" bad frames, ignored ");
    print_num(ignored);
    print(", tx errors ");
    print_num(tx_errors);
    print("\n");

    /* close as xenbus wants it: Closing, the backend follows, Closed; then take the grants back */
    if (xs_write(VIF "/state", "5")) fail("netfront: xenstore write");
    for (u32 tries = 0; backend_state(be) < 5 && tries < 200000; tries++) yield();
    if (xs_write(VIF "/state", "6")) fail("netfront: xenstore write");
    for (u32 r = NET_TX_RING_REF; r < NET_TX_REF0 + NET_TX_BUFS; r++) gt[r].flags = 0;
    print("pv-test: netfront: closed\n");
}
