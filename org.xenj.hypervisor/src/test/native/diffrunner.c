/*
 * Differential-test runner: executes instruction sequences natively on the host CPU and reports
 * the resulting registers, flags, x87 state, data memory and the exception vector, so that the
 * emulator can be compared against real hardware. Built by the Java test at run time in two forms:
 *   - i386 (gcc -m32): every case, run natively where the host executes i386 code, else under
 *     qemu-i386 (a second emulator, labelled so by the Java side);
 *   - x86-64 (gcc -m64): the cases the Java side rewrote for long mode (32-bit operand size, 0x67
 *     for 32-bit addresses, absolute disp32 through a SIB byte), i.e. whose 32-bit results are
 *     architecturally identical in 64-bit mode. Registers are loaded zero-extended and their low
 *     32 bits reported.
 * "--probe" prints "xenj-diffrunner <bits>" and exits: the Java side's host check.
 * "--fpu-probe" prints "fop=<0|1> fdp=<0|1>": whether this CPU stores the last x87 opcode and data
 * pointer of an instruction that raised no exception. Processors differ here by design: Intel's
 * since the Pentium 4 keep FOP only for unmasked exceptions (unless the BIOS set fopcode
 * compatibility), and with CPUID.(7,0):EBX[6] FDP only on exceptions too; older ones keep both.
 *
 * Input (stdin, little-endian):  "XDF2" u32 count, then per case:
 *   u32 flags, u32 gpr[8] (EAX ECX EDX EBX ESP EBP ESI EDI), u32 eflags, u8 fpu[108] (FRSTOR
 *   image, 32-bit protected layout), u32 mxcsr, u8 xmm[128] (XMM0-7), u32 dataLen, data[dataLen]
 *   (placed at DATA_BASE, rest of the data area zeroed), u32 codeLen, code[codeLen] (at CODE_BASE).
 * Output (stdout) per case:
 *   i32 vector (-1 = ran to the end), u32 errorCode, u32 gpr[8], u32 eflags, u32 eip,
 *   u8 fpu[108] (FNSAVE image), u32 mxcsr, u8 xmm[128], data[dataLen].
 * MXCSR and XMM0-7 are loaded before the case and stored after it (on a fault: as the fault left
 * them, from the signal frame's FXSAVE area on i386, by sigreturn on x86-64).
 *
 * The code runs with the case's registers and flags; the runner appends a jump back to an
 * epilogue that saves everything. Faults arrive as signals, handled on an alternate stack; the
 * vector and error code come from the kernel's trapno/err in the ucontext, the registers from the
 * interrupted context. The x87 state: i386 signal frames carry an FNSAVE image; x86-64 frames carry
 * FXSAVE, so there the handler returns into fault_back (RIP/RSP rewritten in the ucontext): the
 * kernel restores the interrupted x87 state and fault_back takes the same FNSAVE the normal exit does.
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
uint32_t g_mxcsr_in, g_mxcsr_out, g_mxcsr_host = 0x1f80;
uint8_t g_xmm_in[128] __attribute__((aligned(16)));
uint8_t g_xmm_out[128] __attribute__((aligned(16)));
#if defined(__i386__)
uint32_t g_host_esp;
uint32_t g_code_entry = CODE_BASE;
uint32_t g_back_addr;
uint16_t g_host_ds, g_host_es, g_host_fs;
#define RUNNER_BITS 32
#else
uint64_t g_host_rsp;
uint64_t g_code_entry64 = CODE_BASE;
/* the appended "jmp qword [abs32]" reads it: a non-PIE binary keeps it below 2 GiB */
uint64_t g_back_addr64;
#define RUNNER_BITS 64
#endif

#if defined(__i386__)
static sigjmp_buf g_jmp;
#endif
static volatile int32_t g_vector;
static volatile uint32_t g_error;

void run_native(void);
void native_back(void);
void fault_back(void);

#if defined(__i386__)
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
    "  ldmxcsr g_mxcsr_in\n"
    "  movdqa g_xmm_in+0, %xmm0\n  movdqa g_xmm_in+16, %xmm1\n  movdqa g_xmm_in+32, %xmm2\n  movdqa g_xmm_in+48, %xmm3\n"
    "  movdqa g_xmm_in+64, %xmm4\n  movdqa g_xmm_in+80, %xmm5\n  movdqa g_xmm_in+96, %xmm6\n  movdqa g_xmm_in+112, %xmm7\n"
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
    "  stmxcsr g_mxcsr_out\n"
    "  movdqa %xmm0, g_xmm_out+0\n  movdqa %xmm1, g_xmm_out+16\n  movdqa %xmm2, g_xmm_out+32\n  movdqa %xmm3, g_xmm_out+48\n"
    "  movdqa %xmm4, g_xmm_out+64\n  movdqa %xmm5, g_xmm_out+80\n  movdqa %xmm6, g_xmm_out+96\n  movdqa %xmm7, g_xmm_out+112\n"
    "  ldmxcsr g_mxcsr_host\n"
    "  fnsave g_fpu_out\n"
    "  fninit\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
    "  ret\n");

#elif defined(__x86_64__)
/* x86-64: the same protocol. Host callee-saved registers and RSP are kept in globals; the case's
 * registers are loaded with 32-bit moves (zero-extending). fault_back is where a fault's signal
 * handler returns to, on the host stack, with the interrupted x87 state restored by sigreturn. */
__asm__(
    ".text\n"
    ".globl run_native\n"
    "run_native:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, g_host_rsp(%rip)\n"
    "  frstor g_fpu_in(%rip)\n"
    "  ldmxcsr g_mxcsr_in(%rip)\n"
    "  movdqa g_xmm_in+0(%rip), %xmm0\n  movdqa g_xmm_in+16(%rip), %xmm1\n  movdqa g_xmm_in+32(%rip), %xmm2\n"
    "  movdqa g_xmm_in+48(%rip), %xmm3\n  movdqa g_xmm_in+64(%rip), %xmm4\n  movdqa g_xmm_in+80(%rip), %xmm5\n"
    "  movdqa g_xmm_in+96(%rip), %xmm6\n  movdqa g_xmm_in+112(%rip), %xmm7\n"
    "  movl g_in+32(%rip), %eax\n  pushq %rax\n  popfq\n"
    "  movl g_in+0(%rip), %eax\n  movl g_in+4(%rip), %ecx\n  movl g_in+8(%rip), %edx\n"
    "  movl g_in+12(%rip), %ebx\n  movl g_in+20(%rip), %ebp\n  movl g_in+24(%rip), %esi\n"
    "  movl g_in+28(%rip), %edi\n  movl g_in+16(%rip), %esp\n"
    "  jmpq *g_code_entry64(%rip)\n"
    ".globl native_back\n"
    "native_back:\n"
    "  movl %eax, g_out+0(%rip)\n  movl %ecx, g_out+4(%rip)\n  movl %edx, g_out+8(%rip)\n"
    "  movl %ebx, g_out+12(%rip)\n  movl %esp, g_out+16(%rip)\n  movl %ebp, g_out+20(%rip)\n"
    "  movl %esi, g_out+24(%rip)\n  movl %edi, g_out+28(%rip)\n"
    "  movq g_host_rsp(%rip), %rsp\n"
    "  pushfq\n  popq %rax\n  movl %eax, g_out+32(%rip)\n  cld\n"
    ".globl fault_back\n"
    "fault_back:\n"
    "  movq g_host_rsp(%rip), %rsp\n"
    "  cld\n"
    "  stmxcsr g_mxcsr_out(%rip)\n"
    "  movdqa %xmm0, g_xmm_out+0(%rip)\n  movdqa %xmm1, g_xmm_out+16(%rip)\n  movdqa %xmm2, g_xmm_out+32(%rip)\n"
    "  movdqa %xmm3, g_xmm_out+48(%rip)\n  movdqa %xmm4, g_xmm_out+64(%rip)\n  movdqa %xmm5, g_xmm_out+80(%rip)\n"
    "  movdqa %xmm6, g_xmm_out+96(%rip)\n  movdqa %xmm7, g_xmm_out+112(%rip)\n"
    "  ldmxcsr g_mxcsr_host(%rip)\n"
    "  fnsave g_fpu_out(%rip)\n"
    "  fninit\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n");

#else
#error "diffrunner: x86 only"
#endif

/*
 * The exception vector of a fault. The kernel reports it as trapno; qemu-i386 does not (it leaves
 * -1 there), so a vector outside 0..31 is derived from the signal as the kernel raises them:
 * SIGFPE integer divide/overflow -> #DE, other SIGFPE -> #MF, SIGILL -> #UD, SIGTRAP -> #BP,
 * SIGSEGV from the kernel itself (si_code SI_KERNEL) -> #GP, SIGSEGV on an address -> #PF,
 * SIGBUS -> #AC.
 */
static int32_t fault_vector(int sig, const siginfo_t *si, long trapno) {
    if (trapno >= 0 && trapno < 32) {
        return (int32_t)trapno;
    }
    switch (sig) {
    case SIGFPE:
        return si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF ? 0 : 16;
    case SIGILL:
        return 6;
    case SIGTRAP:
        return 3;
    case SIGSEGV:
        return si->si_code == SI_KERNEL ? 13 : 14;
    case SIGBUS:
        return 17;
    default:
        return 254;
    }
}

#if defined(__i386__)
#define R_AX REG_EAX
#define R_CX REG_ECX
#define R_DX REG_EDX
#define R_BX REG_EBX
#define R_SP REG_UESP
#define R_BP REG_EBP
#define R_SI REG_ESI
#define R_DI REG_EDI
#define R_IP REG_EIP
#else
#define R_AX REG_RAX
#define R_CX REG_RCX
#define R_DX REG_RDX
#define R_BX REG_RBX
#define R_SP REG_RSP
#define R_BP REG_RBP
#define R_SI REG_RSI
#define R_DI REG_RDI
#define R_IP REG_RIP
#endif

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = (ucontext_t *)ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if (sig == SIGALRM) {
        g_vector = 255;
        g_error = 0;
    } else {
        g_vector = fault_vector(sig, si, (long)g[REG_TRAPNO]);
        g_error = (uint32_t)g[REG_ERR];
    }
    g_out.gpr[0] = (uint32_t)g[R_AX];
    g_out.gpr[1] = (uint32_t)g[R_CX];
    g_out.gpr[2] = (uint32_t)g[R_DX];
    g_out.gpr[3] = (uint32_t)g[R_BX];
    g_out.gpr[4] = (uint32_t)g[R_SP];
    g_out.gpr[5] = (uint32_t)g[R_BP];
    g_out.gpr[6] = (uint32_t)g[R_SI];
    g_out.gpr[7] = (uint32_t)g[R_DI];
    g_out.eflags = (uint32_t)g[REG_EFL];
    g_out.eip = (uint32_t)g[R_IP];
#if defined(__i386__)
    /* an i386 frame carries the interrupted x87 state as an FNSAVE image */
    if (uc->uc_mcontext.fpregs) {
        const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
        memcpy(g_fpu_out, fp, 108);
        /* the kernel's i386 frame: FNSAVE image, status, magic (0 = an FXSAVE image follows at +112) */
        if (*(const uint16_t *)(fp + 110) == 0) {
            memcpy(&g_mxcsr_out, fp + 112 + 24, 4);
            memcpy(g_xmm_out, fp + 112 + 160, 128);
        }
    } else {
        memset(g_fpu_out, 0, 108);
    }
    siglongjmp(g_jmp, 1);
#else
    /* Return into fault_back on the host stack: sigreturn restores the interrupted x87 state from
     * the frame's FXSAVE area, and fault_back stores it in the FNSAVE layout. */
    g[REG_RIP] = (greg_t)(uintptr_t)fault_back;
    g[REG_RSP] = (greg_t)g_host_rsp;
    g[REG_EFL] &= ~(greg_t)0x40500; /* TF, DF, AC */
#endif
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

/* FADDP st(1),st (DE C1: FOP 0x6c1) then FLD m32 (FDP = its address), each followed by FNSTENV. */
static void fpu_probe(void) {
    static float one = 1.0f;
    uint8_t env1[28], env2[28];
    __asm__ volatile("fninit\n\tfld1\n\tfld1\n\t.byte 0xde, 0xc1\n\tfnstenv %0\n\tfninit" : "=m"(env1) : : "memory");
    __asm__ volatile("fninit\n\tflds %1\n\tfnstenv %0\n\tfninit" : "=m"(env2) : "m"(one) : "memory");
    uint32_t fop = (uint32_t)(env1[18] | env1[19] << 8) & 0x7ff;
    uint32_t fdp;
    memcpy(&fdp, env2 + 20, 4);
    printf("fop=%d fdp=%d\n", fop == 0x6c1, fdp == (uint32_t)(uintptr_t)&one);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--fpu-probe") == 0) {
        fpu_probe();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--probe") == 0) {
        printf("xenj-diffrunner %d\n", RUNNER_BITS);
        return 0;
    }
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
#if defined(__i386__)
    g_back_addr = (uint32_t)(uintptr_t)native_back;
#else
    g_back_addr64 = (uint64_t)(uintptr_t)native_back;
    if ((uintptr_t)&g_back_addr64 >= 0x80000000u) {
        fprintf(stderr, "diffrunner: build without PIE (the return jump needs an absolute address)\n");
        return 2;
    }
#endif

    if (read_u32() != 0x32464458u) { /* "XDF2" */
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
        g_mxcsr_in = read_u32();
        read_exact(g_xmm_in, 128);
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
#if defined(__i386__)
        /* jmp *ss:[g_back_addr] (through SS: the case may have loaded DS with null) */
        code[code_len] = 0x36;
        code[code_len + 1] = 0xFF;
        code[code_len + 2] = 0x25;
        uint32_t ptr = (uint32_t)(uintptr_t)&g_back_addr;
        memcpy(code + code_len + 3, &ptr, 4);
#else
        /* jmp qword [abs32] (ModRM 0x24 + SIB 0x25: absolute, not RIP-relative) */
        code[code_len] = 0xFF;
        code[code_len + 1] = 0x24;
        code[code_len + 2] = 0x25;
        uint32_t ptr = (uint32_t)(uintptr_t)&g_back_addr64;
        memcpy(code + code_len + 3, &ptr, 4);
#endif
        __builtin___clear_cache((char *)code, (char *)code + CODE_SIZE);

        /* A context switch in the middle of a case loses FIP/FDP/FOP (AMD's FXSAVE/XSAVE keep
         * them only while an exception is pending): run the case again when one happened. */
        for (int attempt = 0; attempt < 8; attempt++) {
            long switches = context_switches();
            memset(data, 0, DATA_SIZE);
            memcpy(data, case_data, data_len);
            g_vector = -1;
            g_error = 0;
            alarm(2); /* DiffRun.WATCHDOG_SECONDS: a case takes microseconds; only a stalled one lasts */
#if defined(__i386__)
            if (sigsetjmp(g_jmp, 1) == 0) {
                run_native();
                g_out.eip = CODE_BASE + code_len;
            } else {
                __asm__ volatile("movw g_host_ds, %%ds\n movw g_host_es, %%es\n movw g_host_fs, %%fs\n cld\n fninit"
                                 ::: "memory");
            }
#else
            run_native(); /* a fault returns here too, through fault_back */
            if (g_vector < 0) {
                g_out.eip = CODE_BASE + code_len;
            }
#endif
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
        fwrite(&g_mxcsr_out, 4, 1, stdout);
        fwrite(g_xmm_out, 1, 128, stdout);
        fwrite(data, 1, data_len, stdout);
    }
    fflush(stdout);
    return 0;
}
