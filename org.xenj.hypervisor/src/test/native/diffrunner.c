/*
 * Differential-test runner: executes instruction sequences natively on the host CPU (i386 user
 * mode, built with gcc -m32 by the Java test at run time) and reports the resulting registers,
 * flags, x87 state, data memory and the exception vector, so that the emulator can be compared
 * against real hardware.
 *
 * Input (stdin, little-endian):  "XDF1" u32 count, then per case:
 *   u32 flags, u32 gpr[8] (EAX ECX EDX EBX ESP EBP ESI EDI), u32 eflags, u8 fpu[108] (FRSTOR
 *   image, 32-bit protected layout), u32 dataLen, data[dataLen] (placed at DATA_BASE, rest of
 *   the data area zeroed), u32 codeLen, code[codeLen] (placed at CODE_BASE).
 * Output (stdout) per case:
 *   i32 vector (-1 = ran to the end), u32 errorCode, u32 gpr[8], u32 eflags, u32 eip,
 *   u8 fpu[108] (FNSAVE image), data[dataLen].
 *
 * The code runs with the case's registers and flags; the runner appends a jump back to an
 * epilogue that saves everything. Faults arrive as signals, handled on an alternate stack; the
 * vector and error code come from the kernel's trapno/err in the ucontext, the registers and x87
 * state from the interrupted context.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x10000000u
#define CODE_SIZE 0x1000u
#define DATA_BASE 0x20000000u
#define DATA_SIZE 0x2000u
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

struct cpu_state {
    uint32_t gpr[8];
    uint32_t eflags;
    uint32_t eip;
};

struct cpu_state g_in, g_out;
uint8_t g_fpu_in[108] __attribute__((aligned(16)));
uint8_t g_fpu_out[108] __attribute__((aligned(16)));
uint32_t g_host_esp;
uint32_t g_code_entry = CODE_BASE;
uint32_t g_back_addr;
uint16_t g_host_ds, g_host_es, g_host_fs;

static sigjmp_buf g_jmp;
static volatile int32_t g_vector;
static volatile uint32_t g_error;

void run_native(void);
void native_back(void);

/* Enter: save host callee-saved registers and ESP, load the case state, jump to the code.
 * Back: store the registers (through SS: the case may have changed DS/ES), switch back to the
 * host stack, capture EFLAGS and the x87 state, restore the data segments. */
__asm__(
    ".text\n"
    ".globl run_native\n"
    "run_native:\n"
    "  pushl %ebp\n  pushl %ebx\n  pushl %esi\n  pushl %edi\n"
    "  movw %ds, g_host_ds\n  movw %es, g_host_es\n  movw %fs, g_host_fs\n"
    "  movl %esp, g_host_esp\n"
    "  frstor g_fpu_in\n"
    "  pushl g_in+32\n  popfl\n"
    "  movl g_in+0, %eax\n  movl g_in+4, %ecx\n  movl g_in+8, %edx\n  movl g_in+12, %ebx\n"
    "  movl g_in+20, %ebp\n  movl g_in+24, %esi\n  movl g_in+28, %edi\n"
    "  movl g_in+16, %esp\n"
    "  jmp *g_code_entry\n"
    ".globl native_back\n"
    "native_back:\n"
    "  movl %eax, %ss:g_out+0\n  movl %ecx, %ss:g_out+4\n  movl %edx, %ss:g_out+8\n"
    "  movl %ebx, %ss:g_out+12\n  movl %esp, %ss:g_out+16\n  movl %ebp, %ss:g_out+20\n"
    "  movl %esi, %ss:g_out+24\n  movl %edi, %ss:g_out+28\n"
    "  movl %ss:g_host_esp, %esp\n"
    "  pushfl\n  popl %ss:g_out+32\n  cld\n"
    "  movw %ss:g_host_ds, %ds\n  movw g_host_es, %es\n  movw g_host_fs, %fs\n"
    "  fnsave g_fpu_out\n"
    "  fninit\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
    "  ret\n");

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    ucontext_t *uc = (ucontext_t *)ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if (sig == SIGALRM) {
        g_vector = 255;
        g_error = 0;
    } else {
        g_vector = (int32_t)g[REG_TRAPNO];
        g_error = (uint32_t)g[REG_ERR];
    }
    g_out.gpr[0] = g[REG_EAX];
    g_out.gpr[1] = g[REG_ECX];
    g_out.gpr[2] = g[REG_EDX];
    g_out.gpr[3] = g[REG_EBX];
    g_out.gpr[4] = g[REG_UESP];
    g_out.gpr[5] = g[REG_EBP];
    g_out.gpr[6] = g[REG_ESI];
    g_out.gpr[7] = g[REG_EDI];
    g_out.eflags = g[REG_EFL];
    g_out.eip = g[REG_EIP];
    if (uc->uc_mcontext.fpregs) {
        memcpy(g_fpu_out, uc->uc_mcontext.fpregs, 108);
    } else {
        memset(g_fpu_out, 0, 108);
    }
    siglongjmp(g_jmp, 1);
}

static long context_switches(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

static uint8_t case_data[DATA_SIZE];

static void read_exact(void *p, size_t n) {
    if (n && fread(p, 1, n, stdin) != n) {
        fprintf(stderr, "diffrunner: truncated input\n");
        exit(2);
    }
}

static uint32_t read_u32(void) {
    uint32_t v;
    read_exact(&v, 4);
    return v;
}

static void *map_fixed(uint32_t addr, uint32_t size) {
    void *p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || (uint32_t)(uintptr_t)p != addr) {
        fprintf(stderr, "diffrunner: cannot map 0x%08x\n", addr);
        exit(2);
    }
    return p;
}

int main(void) {
    uint8_t *code = map_fixed(CODE_BASE, CODE_SIZE);
    uint8_t *data = map_fixed(DATA_BASE, DATA_SIZE);
    static uint8_t altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sigaction(sigs[i], &sa, NULL);
    }
    g_back_addr = (uint32_t)(uintptr_t)native_back;

    if (read_u32() != 0x31464458u) { /* "XDF1" */
        fprintf(stderr, "diffrunner: bad magic\n");
        return 2;
    }
    uint32_t count = read_u32();
    for (uint32_t n = 0; n < count; n++) {
        read_u32(); /* flags: reserved */
        for (int i = 0; i < 8; i++) {
            g_in.gpr[i] = read_u32();
        }
        g_in.eflags = read_u32();
        read_exact(g_fpu_in, 108);
        uint32_t data_len = read_u32();
        if (data_len > DATA_SIZE) {
            fprintf(stderr, "diffrunner: data too long\n");
            return 2;
        }
        read_exact(case_data, data_len);
        uint32_t code_len = read_u32();
        if (code_len > CODE_SIZE - 8) {
            fprintf(stderr, "diffrunner: code too long\n");
            return 2;
        }
        memset(code, 0xCC, CODE_SIZE);
        read_exact(code, code_len);
        /* jmp *ss:[g_back_addr] (through SS: the case may have loaded DS with null) */
        code[code_len] = 0x36;
        code[code_len + 1] = 0xFF;
        code[code_len + 2] = 0x25;
        uint32_t ptr = (uint32_t)(uintptr_t)&g_back_addr;
        memcpy(code + code_len + 3, &ptr, 4);
        __builtin___clear_cache((char *)code, (char *)code + CODE_SIZE);

        /* A context switch in the middle of a case loses FIP/FDP/FOP (AMD's FXSAVE/XSAVE keep
         * them only while an exception is pending): run the case again when one happened. */
        for (int attempt = 0; attempt < 8; attempt++) {
            long switches = context_switches();
            memset(data, 0, DATA_SIZE);
            memcpy(data, case_data, data_len);
            g_vector = -1;
            g_error = 0;
            alarm(5);
            if (sigsetjmp(g_jmp, 1) == 0) {
                run_native();
                g_out.eip = CODE_BASE + code_len;
            } else {
                __asm__ volatile("movw g_host_ds, %%ds\n movw g_host_es, %%es\n movw g_host_fs, %%fs\n cld\n fninit"
                                 ::: "memory");
            }
            alarm(0);
            if (context_switches() == switches) {
                break;
            }
        }
        int32_t vec = g_vector;
        uint32_t err = g_error;
        fwrite(&vec, 4, 1, stdout);
        fwrite(&err, 4, 1, stdout);
        fwrite(g_out.gpr, 4, 8, stdout);
        fwrite(&g_out.eflags, 4, 1, stdout);
        fwrite(&g_out.eip, 4, 1, stdout);
        fwrite(g_fpu_out, 1, 108, stdout);
        fwrite(data, 1, data_len, stdout);
    }
    fflush(stdout);
    return 0;
}
