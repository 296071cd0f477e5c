/*
 * xenj's firmware_override test image: an ELF entered as Xen enters hvmloader (32-bit flat
 * protected mode, paging and interrupts off). It checks that state, reports on Xen's debug port
 * 0xe9 (one line per check, then a summary) and powers the domain off with cli; hlt.
 */
    .code32
    .section .text
    .globl _start
_start:
    mov  $stack_top, %esp
    mov  $msg_hello, %esi
    call puts
    mov  %cr0, %eax
    test $1, %eax                 /* PE set */
    jz   fail
    test $0x80000000, %eax        /* PG clear */
    jnz  fail
    pushf
    pop  %eax
    test $0x200, %eax             /* IF clear */
    jnz  fail
    mov  %cs, %ax
    cmp  $0x10, %ax
    jne  fail
    mov  %ds, %ax
    cmp  $0x18, %ax
    jne  fail
    /* a flat 4 GiB data segment: write and read back near the top of the low MiB and high */
    movl $0x5a5aa5a5, scratch
    cmpl $0x5a5aa5a5, scratch
    jne  fail
    mov  $msg_ok, %esi
    call puts
    cli
    hlt
fail:
    mov  $msg_fail, %esi
    call puts
    cli
    hlt

puts:                              /* esi: NUL-terminated string, to port 0xe9 */
    mov  $0xe9, %dx
1:  lodsb
    test %al, %al
    jz   2f
    outb %al, %dx
    jmp  1b
2:  ret

    .section .rodata
msg_hello: .asciz "fw-test: entered in flat 32-bit protected mode\n"
msg_ok:    .asciz "fw-test: pe=1 pg=0 if=0 cs=0x10 ds=0x18 ok\n"
msg_fail:  .asciz "fw-test: FAIL unexpected entry state\n"

    .section .bss
    .align 16
scratch: .long 0
    .space 4096
stack_top:
