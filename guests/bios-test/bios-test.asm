; A 64 KiB PC firmware image for bios_path_override= (xenj) and -bios (QEMU): proves the reset vector
; (the first instruction is fetched at 0xFFFFFFF0 from the ROM at the top of 4 GiB, CS base 0xFFFF0000),
; the alias of the image at 0xF0000, and that the BIOS window ignores stores at power-on (PAM = 0).
; Prints on COM1 and ends the machine through isa-debug-exit (port 0xf4) with 0x21 (exit code 0x43).
; Build: nasm -f bin -o bios-test.bin bios-test.asm
bits 16
org 0
start:
    cli
    mov ax, cs
    mov ds, ax                  ; DS = 0xF000: the alias below 1 MiB
    mov si, hello
    call puts
    mov byte [probe], 0x55      ; a store into the BIOS window at power-on
    cmp byte [probe], 0xaa
    jne .writable
    mov si, readonly
    jmp .report
.writable:
    mov si, writable
.report:
    call puts
    mov al, 0x21
    out 0xf4, al
.halt:
    hlt
    jmp .halt

puts:                           ; DS:SI, NUL-terminated, to COM1's transmit register
    mov dx, 0x3f8
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ret

hello:    db "bios-test: reset vector reached, running at F000", 13, 10, 0
readonly: db "bios-test: BIOS window read-only at power-on", 13, 10, 0
writable: db "bios-test: BIOS window WRITABLE at power-on", 13, 10, 0
probe:    db 0xaa

    times 0xfff0 - ($ - $$) db 0xff
reset:
    jmp 0xf000:start            ; at 0xFFFFFFF0, as every PC BIOS
    times 0x10000 - ($ - $$) db 0xff
