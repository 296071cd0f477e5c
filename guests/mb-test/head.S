/*
 * xenj's Multiboot test kernel: booted as GRUB or QEMU -kernel boot a Multiboot (v1) kernel, it
 * checks the machine state and the information structure the loader handed over, prints what it
 * found on COM1 (one line each, "ok <check>" or "FAIL <check>"), and ends its machine through
 * QEMU's isa-debug-exit at port 0xf4 with the number of failed checks (exit code 2n+1: 1 = all
 * passed). Built twice by build.sh: an ELF, and with -DAOUT a flat binary placed by the header's
 * address fields (flag 16). The same binaries run on qemu-system-i386 as the oracle.
 */
#define MB_MAGIC 0x1BADB002
#ifdef AOUT
#define MB_FLAGS 0x00010003  /* page-aligned modules, memory info, address fields */
#else
#define MB_FLAGS 0x00000003  /* page-aligned modules, memory info */
#endif
#define COM1 0x3f8
#define EXIT_PORT 0xf4

    .code32
    .section .text
    .globl _start
_start:
    jmp  entry
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header     /* header_addr */
    .long _start        /* load_addr */
    .long _edata        /* load_end_addr */
    .long _end          /* bss_end_addr */
    .long entry         /* entry_addr */

entry:
    cld
    mov  $stack_top, %esp
    mov  %eax, saved_eax
    mov  %ebx, saved_ebx
    pushf
    pop  %eax
    mov  %eax, saved_eflags
    mov  %cr0, %eax
    mov  %eax, saved_cr0
    call serial_init
    mov  $s_start, %esi
    call puts

    /* 1. EAX holds the boot loader's magic */
    cmpl $0x2BADB002, saved_eax
    sete %al
    mov  $s_magic, %esi
    call check
    /* 2. protected mode on, paging off */
    mov  saved_cr0, %eax
    and  $0x80000001, %eax
    cmp  $1, %eax
    sete %al
    mov  $s_cr0, %esi
    call check
    /* 3. interrupts off, not virtual-8086 */
    testl $0x20200, saved_eflags
    setz %al
    mov  $s_eflags, %esi
    call check
    /* 4. flat segments: a store through DS lands where a store through ES/SS reads it back */
    movl $0x5aa5c33c, probe
    mov  $probe, %edi
    mov  %es:(%edi), %eax
    cmp  $0x5aa5c33c, %eax
    sete %al
    mov  $s_flat, %esi
    call check

    mov  saved_ebx, %ebx
    /* 5. the info flags carry memory (0), cmdline (2), modules (3) and the memory map (6) */
    mov  (%ebx), %eax
    and  $0x4d, %eax
    cmp  $0x4d, %eax
    sete %al
    mov  $s_flags, %esi
    call check
    /* 6. the information structure lies outside the kernel image: above its end or below its start */
    mov  $1, %al
    cmp  $_end, %ebx
    jae  9f
    lea  116(%ebx), %edx
    cmp  $_start, %edx
    setbe %al
9:
    mov  $s_info_place, %esi
    call check

    mov  $s_mem_lower, %esi
    mov  4(%ebx), %eax
    call put_field
    mov  $s_mem_upper, %esi
    mov  8(%ebx), %eax
    call put_field
    mov  $s_cmdline, %esi
    call puts
    mov  16(%ebx), %esi
    call puts
    call newline

    /* modules: start, end, additive byte sum, string; each page-aligned after the kernel */
    mov  $s_mods, %esi
    mov  20(%ebx), %eax
    call put_field
    mov  20(%ebx), %ecx
    mov  24(%ebx), %ebp
1:  test %ecx, %ecx
    jz   3f
    push %ecx
    mov  $s_mod_start, %esi
    mov  (%ebp), %eax
    call put_hex_field
    mov  $s_mod_end, %esi
    mov  4(%ebp), %eax
    call put_hex_field
    mov  (%ebp), %esi
    mov  4(%ebp), %ecx
    xor  %edx, %edx
    xor  %eax, %eax
2:  cmp  %ecx, %esi
    jae  4f
    movzbl (%esi), %eax
    add  %eax, %edx
    inc  %esi
    jmp  2b
4:  mov  $s_mod_sum, %esi
    mov  %edx, %eax
    call put_hex_field
    mov  $s_mod_string, %esi
    call puts
    mov  8(%ebp), %esi
    call puts
    call newline
    mov  (%ebp), %eax
    test $0xfff, %eax
    setz %al
    mov  $s_mod_aligned, %esi
    call check
    cmpl $_end, (%ebp)
    setae %al
    mov  $s_mod_place, %esi
    call check
    pop  %ecx
    add  $16, %ebp
    dec  %ecx
    jmp  1b
3:
    /* memory map: print each entry; find RAM at 1 MiB whose length agrees with mem_upper */
    movl $0, upper_ok
    mov  48(%ebx), %ebp          /* mmap_addr */
    mov  44(%ebx), %ecx
    add  %ebp, %ecx              /* end */
5:  cmp  %ecx, %ebp
    jae  6f
    push %ecx
    mov  $s_mmap_base, %esi
    mov  4(%ebp), %eax
    call put_hex_field
    mov  $s_mmap_len, %esi
    mov  12(%ebp), %eax
    call put_hex_field
    mov  $s_mmap_type, %esi
    mov  20(%ebp), %eax
    call put_hex_field
    call newline
    cmpl $0x100000, 4(%ebp)
    jne  7f
    cmpl $1, 20(%ebp)
    jne  7f
    mov  12(%ebp), %eax
    shr  $10, %eax
    cmp  8(%ebx), %eax
    jne  7f
    movl $1, upper_ok
7:  pop  %ecx
    mov  (%ebp), %eax            /* size of the entry, not counting itself */
    lea  4(%ebp,%eax), %ebp
    jmp  5b
6:  cmpl $1, upper_ok
    sete %al
    mov  $s_upper_mmap, %esi
    call check
    /* 7. the loader zeroed the bss */
    mov  $bss_probe, %edi
    mov  $1024, %ecx
    xor  %eax, %eax
    repe scasl
    sete %al
    mov  $s_bss, %esi
    call check

    mov  $s_result, %esi
    mov  failures, %eax
    call put_field
    mov  failures, %eax
    mov  $EXIT_PORT, %dx
    outl %eax, %dx
    cli
8:  hlt
    jmp  8b

/* check: al = 1 for pass; esi = the check's name */
check:
    push %esi
    test %al, %al
    jnz  1f
    incl failures
    mov  $s_fail, %esi
    call puts
    jmp  2f
1:  mov  $s_ok, %esi
    call puts
2:  pop  %esi
    call puts
    jmp  newline

/* put_field: esi = "name=", eax = value printed in hex, then a newline */
put_field:
    call put_hex_field
    jmp  newline

/* put_hex_field: esi = "name=", eax = value, printed as 8 hex digits and a space */
put_hex_field:
    push %eax
    call puts
    pop  %eax
    mov  $8, %ecx
1:  rol  $4, %eax
    push %eax
    and  $0xf, %eax
    movb hexdigits(%eax), %al
    call putc
    pop  %eax
    dec  %ecx
    jnz  1b
    mov  $' ', %al
    jmp  putc

newline:
    mov  $'\n', %al
    jmp  putc

puts:                       /* esi: NUL-terminated string */
    push %eax
1:  lodsb
    test %al, %al
    jz   2f
    call putc
    jmp  1b
2:  pop  %eax
    ret

putc:                       /* al: the byte; waits for the transmitter holding register */
    push %edx
    push %eax
    mov  $COM1+5, %dx
1:  inb  %dx, %al
    test $0x20, %al
    jz   1b
    pop  %eax
    mov  $COM1, %dx
    outb %al, %dx
    pop  %edx
    ret

serial_init:                /* 8N1, divisor 1 (115200), FIFOs on */
    mov  $COM1+3, %dx
    mov  $0x80, %al
    outb %al, %dx
    mov  $COM1, %dx
    mov  $1, %al
    outb %al, %dx
    mov  $COM1+1, %dx
    xor  %al, %al
    outb %al, %dx
    mov  $COM1+3, %dx
    mov  $0x03, %al
    outb %al, %dx
    mov  $COM1+2, %dx
    mov  $0x07, %al
    outb %al, %dx
    ret

    .section .data
hexdigits:    .ascii "0123456789abcdef"
s_start:      .asciz "mb-test: start\n"
s_ok:         .asciz "ok "
s_fail:       .asciz "FAIL "
s_magic:      .asciz "magic"
s_cr0:        .asciz "cr0"
s_eflags:     .asciz "eflags"
s_flat:       .asciz "flat-segments"
s_flags:      .asciz "info-flags"
s_info_place: .asciz "info-outside-kernel"
s_mem_lower:  .asciz "mem_lower="
s_mem_upper:  .asciz "mem_upper="
s_cmdline:    .asciz "cmdline="
s_mods:       .asciz "mods_count="
s_mod_start:  .asciz "mod start="
s_mod_end:    .asciz "end="
s_mod_sum:    .asciz "sum="
s_mod_string: .asciz "string="
s_mod_aligned:.asciz "module-page-aligned"
s_mod_place:  .asciz "module-after-kernel"
s_mmap_base:  .asciz "mmap base="
s_mmap_len:   .asciz "len="
s_mmap_type:  .asciz "type="
s_upper_mmap: .asciz "mem-upper-matches-mmap"
s_bss:        .asciz "bss-zeroed"
s_result:     .asciz "result failures="
    .align 4
failures:     .long 0
saved_eax:    .long 0
saved_ebx:    .long 0
saved_eflags: .long 0
saved_cr0:    .long 0
upper_ok:     .long 0
probe:        .long 0

    .section .bss
    .align 4096
bss_probe:    .space 4096
stack:        .space 4096
stack_top:
