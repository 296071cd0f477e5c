; A tiny protected-mode "kernel" for the CPU's system-level tests. Entered in flat 32-bit
; protected mode, ring 0, paging off, at ORG. One of the TEST_* symbols selects the scenario.
; Results go to the mailbox at 0x6000.
bits 32
%define ORG 0x1000
org ORG
%define A(x) ((x) - $$ + ORG)
%define MBOX 0x6000

start:
    lgdt [gdtr]
    lidt [idtr]
    jmp 0x08:reload
reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, 0x90000
    mov ax, 0x28
    ltr ax

%ifdef TEST_RINGS
    push dword 0x23            ; SS
    push dword 0x70000         ; ESP
    pushfd
    push dword 0x1b            ; CS
    push dword user_code
    iretd
user_code:
    mov cx, 0x23
    mov ds, cx
    mov eax, 0x1234
    int 0x80
    mov [MBOX + 0x100], ebx
    mov al, 'A'
    out 0xe9, al               ; allowed by the I/O bitmap
    out 0x80, al               ; not allowed: #GP(0)
    jmp $
%endif

%ifdef TEST_DOUBLE_FAULT
    mov ax, 0x1234             ; beyond the GDT limit: #GP, whose gate is not present: #NP -> #DF
    mov ds, ax
    jmp $
%endif

%ifdef TEST_TRIPLE_FAULT
    lidt [bad_idtr]
    int3
    jmp $
%endif

%ifdef TEST_PAGING
    ; page directory at 0x20000: PDE0 -> page table 0x21000, PDE1 -> 4 MiB page at 4 MiB
    mov edi, 0x21000
    mov eax, 3
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    and dword [0x21000 + 0x300 * 4], ~1      ; 0x300000 not present
    and dword [0x21000 + 0x301 * 4], ~2      ; 0x301000 read-only
    mov dword [0x20000], 0x21003
    mov dword [0x20004], 0x400083
    mov eax, cr4
    or eax, 0x10                               ; PSE
    mov cr4, eax
    mov eax, 0x20000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                         ; PG | WP
    mov cr0, eax
    mov dword [0x300000], 0x55                 ; #PF, the handler maps the page, the store is retried
    mov eax, [0x300000]
    mov [MBOX + 0x10], eax
    mov dword [0x400010], 0x66                 ; through the 4 MiB page
    mov eax, [0x400010]
    mov [MBOX + 0x14], eax
    mov eax, [0x21000 + 0x300 * 4]
    mov [MBOX + 0x18], eax                     ; accessed + dirty must be set
    mov dword [0x301000], 1                    ; WP=1: supervisor write to read-only page faults
    jmp $
%endif

idle:
    hlt
    jmp idle

; ---------------------------------------------------------------- handlers
int80:
    mov ebx, [esp + 4]
    mov [MBOX + 0x200], ebx    ; CS of the caller
    mov ebx, [esp + 16]
    mov [MBOX + 0x204], ebx    ; SS of the caller
    mov [MBOX + 0x208], esp    ; must be esp0 - 20
    mov ebx, 0xbeef
    iretd

gp_handler:
    pop eax
    mov [MBOX + 4], eax
    mov dword [MBOX], 13
    mov eax, [esp + 4]
    mov [MBOX + 0xc], eax
    hlt
    jmp $

pf_handler:
    pop ebx                    ; error code
    mov eax, cr2
    inc dword [MBOX + 0x30]    ; fault count
    cmp dword [MBOX + 0x30], 1
    jne .second
    mov [MBOX + 0x20], eax
    mov [MBOX + 0x24], ebx
    or dword [0x21000 + 0x300 * 4], 1
    invlpg [eax]
    iretd
.second:
    mov [MBOX + 0x28], eax
    mov [MBOX + 0x2c], ebx
    hlt
    jmp $

df_handler:
    str ax
    mov [MBOX + 0x300], eax
    pushfd
    pop ebx
    mov [MBOX + 0x304], ebx
    mov eax, [esp]
    mov [MBOX + 0x308], eax    ; #DF error code
    hlt
    jmp $

; ---------------------------------------------------------------- tables
align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff      ; 0x08 ring-0 code
    dq 0x00cf92000000ffff      ; 0x10 ring-0 data
    dq 0x00cffa000000ffff      ; 0x18 ring-3 code
    dq 0x00cff2000000ffff      ; 0x20 ring-3 data
    dw tss_end - tss - 1       ; 0x28 TSS
    dw A(tss) & 0xffff
    db (A(tss) >> 16) & 0xff, 0x89, 0x00, A(tss) >> 24
    dw dftss_end - dftss - 1   ; 0x30 double-fault TSS
    dw A(dftss) & 0xffff
    db (A(dftss) >> 16) & 0xff, 0x89, 0x00, A(dftss) >> 24
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd A(gdt)

%macro GATE 3
    dw A(%1) & 0xffff
    dw %3
    db 0, %2
    dw A(%1) >> 16
%endmacro
%macro NOGATE 0
    dq 0
%endmacro

align 8
idt:
%assign v 0
%rep 0x81
  %if v == 8
    dw 0, 0x30                  ; task gate to the double-fault TSS
    db 0, 0x85
    dw 0
  %elif v == 13
    %ifdef TEST_DOUBLE_FAULT
    NOGATE
    %else
    GATE gp_handler, 0x8e, 0x08
    %endif
  %elif v == 14
    GATE pf_handler, 0x8e, 0x08
  %elif v == 0x80
    GATE int80, 0xee, 0x08
  %else
    NOGATE
  %endif
%assign v v+1
%endrep
idt_end:
idtr:
    dw idt_end - idt - 1
    dd A(idt)
bad_idtr:
    dw 0
    dd 0

align 16
tss:
    dd 0                        ; back link
    dd 0x80000                  ; esp0
    dd 0x10                     ; ss0
    times 22 dd 0
    dw 0, 0x68                  ; T, I/O map base
    ; bitmap: every port denied except 0xe9
    times 29 db 0xff
    db 0xfd
    times 4 db 0xff
    db 0xff
tss_end:

align 16
dftss:
    dd 0, 0, 0, 0, 0, 0, 0
    dd 0                        ; CR3
    dd A(df_handler)            ; EIP
    dd 2                        ; EFLAGS
    dd 0, 0, 0, 0               ; EAX ECX EDX EBX
    dd 0x60000, 0, 0, 0         ; ESP EBP ESI EDI
    dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10   ; ES CS SS DS FS GS
    dd 0                        ; LDT
    dw 0, 0x68
dftss_end:
