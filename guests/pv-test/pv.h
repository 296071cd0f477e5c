/*
 * xenj PV test kernel: what main.c shares with the device steps (netfront.c). ABI structures are
 * declared from the numbers of Xen's public headers (no Xen headers needed).
 */
#ifndef PV_TEST_PV_H
#define PV_TEST_PV_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define VIRT_BASE 0xC0000000u
#define DOMID_SELF 0x7FF0

struct start_info {
    char magic[32];
    u32 nr_pages, shared_info, flags, store_mfn, store_evtchn, console_mfn, console_evtchn;
    u32 pt_base, nr_pt_frames, mfn_list, mod_start, mod_len;
    char cmd_line[1024];
};
struct vcpu_time_info { u32 version, pad0; u64 tsc_timestamp, system_time; u32 mul; signed char shift; u8 flags, pad[2]; };
struct vcpu_info { u8 upcall_pending, upcall_mask, pad[2]; u32 pending_sel; u32 cr2, arch_pad[5]; struct vcpu_time_info time; };
struct shared_info { struct vcpu_info vcpu_info[32]; u32 evtchn_pending[32]; u32 evtchn_mask[32]; u32 wc_version, wc_sec, wc_nsec; };
struct grant_entry { u16 flags, domid; u32 frame; };

#define STR2(x) #x
#define STR(x) STR2(x)
#define HYPERCALL(nr, a1, a2, a3, a4, a5) ({                                            \
    long r_; long b_ = (long)(a1), c_ = (long)(a2), d_ = (long)(a3), s_ = (long)(a4), D_ = (long)(a5); \
    __asm__ volatile("call hypercall_page + " STR(nr) " * 32"                           \
        : "=a"(r_), "+b"(b_), "+c"(c_), "+d"(d_), "+S"(s_), "+D"(D_) : : "memory");    \
    r_; })

/* hypercall numbers and sub-ops (xen.h and friends) */
#define HC_set_trap_table 0
#define HC_set_callbacks 4
#define HC_update_va_mapping 14
#define HC_set_timer_op 15
#define HC_console_io 18
#define HC_grant_table_op 20
#define HC_sched_op 29
#define HC_vm_assist 21
#define HC_mmuext_op 26
#define VMASST_CMD_enable 0
#define VMASST_TYPE_writable_pagetables 2
#define MMUEXT_INVLPG_LOCAL 7
#define HC_event_channel_op 32
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_send 4
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_unmask 9
#define GNTTABOP_setup_table 2
#define UVMF_INVLPG 2
#define VIRQ_TIMER 0
#define GTF_permit_access 1
#define GTF_readonly 4
#define SHUTDOWN_poweroff 0
#define XS_READ 2
#define XS_WRITE 11
#define XS_ERROR 16
#define XS_WATCH_EVENT 15

#define barrier() __asm__ volatile("" ::: "memory")
#define mb() __asm__ volatile("lock; addl $0,0(%%esp)" ::: "memory")

extern struct start_info *si;
extern volatile struct shared_info *shared;

u32 va_to_mfn(const void *va);
long evtchn_op(int cmd, void *arg);
void notify(u32 port);
void yield(void);
/* Xen system time in ns: vcpu_time_info extrapolated with RDTSC. */
u64 now_ns(void);
u32 slen(const char *s);
int streq(const char *a, const char *b);
void print(const char *s);
void print_num(u32 v);
void fmt_num(char *out, u32 v);
/* Sends a request (path, NUL, value) and reads the reply into buf; returns its type. */
u32 xs_request(u32 type, const char *path, const char *value, char *buf, u32 max);
int xs_write(const char *path, const char *value);
/* Reads "<dir>/<leaf>" into buf; 0 if it exists. */
int xs_read_at(const char *dir, const char *leaf, char *buf, u32 max);
/* The value of "key=" on the kernel command line (up to a blank), or 0. */
const char *cmdline_value(const char *key, char *buf, u32 max);
void fail(const char *why) __attribute__((noreturn));

void blkfront(volatile struct grant_entry *gt);
void netfront(volatile struct grant_entry *gt);

#endif
