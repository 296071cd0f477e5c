/*
 * xenj PV test kernel: entry, Xen ELF notes, hypercall page, event/failsafe callback stubs.
 * Runs in ring 1 on Xen's x86_32 PAE PV ABI (entered with ESI = start_info).
 */
#define ELFNOTE(type, kind, value)          \
    .pushsection .note.Xen, "a", @note;     \
    .p2align 2;                             \
    .long 4, 4f - 3f, type;                 \
    .asciz "Xen";                           \
    .p2align 2;                             \
3:  kind value;                             \
4:  .p2align 2;                             \
    .popsection

    ELFNOTE(6, .asciz, "xenj-pv-test")        /* GUEST_OS */
    ELFNOTE(7, .asciz, "1.0")                 /* GUEST_VERSION */
    ELFNOTE(5, .asciz, "xen-3.0")             /* XEN_VERSION */
    ELFNOTE(3, .long, 0xC0000000)             /* VIRT_BASE */
    ELFNOTE(4, .long, 0)                      /* PADDR_OFFSET */
    ELFNOTE(1, .long, _start)                 /* ENTRY */
    ELFNOTE(2, .long, hypercall_page)         /* HYPERCALL_PAGE */
    ELFNOTE(9, .asciz, "yes")                 /* PAE_MODE */
    ELFNOTE(8, .asciz, "generic")             /* LOADER */
    ELFNOTE(10, .asciz, "!writable_page_tables|!pae_pgdir_above_4gb") /* FEATURES */

    .section .text.head, "ax"
    .globl _start
_start:
    cld
    movl $stack_top, %esp
    pushl %esi                  /* start_info */
    call kernel_main
1:  jmp 1b

    .globl hypervisor_callback
hypervisor_callback:            /* frame: EIP, CS, EFLAGS (events masked by Xen) */
    pushl %eax
    pushl %ecx
    pushl %edx
    call do_event
    popl %edx
    popl %ecx
    popl %eax
    iret

    .globl soft_trap
soft_trap:                      /* int $0x81 through the trap table (count mode): frame EIP, CS, EFLAGS */
    incl soft_traps
    iret

    .globl failsafe_callback
failsafe_callback:              /* frame: DS, ES, FS, GS, then EIP, CS, EFLAGS */
    popl %ds
    popl %es
    popl %fs
    popl %gs
    iret

    .section .text.hypercall, "ax"
    .p2align 12
    .globl hypercall_page
hypercall_page:
    .skip 4096

    .section .bss
    .p2align 12
stack_bottom:
    .skip 16384
stack_top:
