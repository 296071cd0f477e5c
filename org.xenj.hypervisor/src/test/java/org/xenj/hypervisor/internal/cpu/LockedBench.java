package org.xenj.hypervisor.internal.cpu;

/**
 * CpuBench's loop with locked instructions in it (one vCPU: the single-vCPU cost of the locked
 * path; not a unit test). Per iteration of the inner loop: LOCK ADD, XCHG with memory, LOCK
 * CMPXCHG, LOCK BTS among ten plain instructions.
 *
 * <pre>
 * java -cp org.xenj.hypervisor/target/classes:org.xenj.hypervisor/target/test-classes:asm.jar \
 *      org.xenj.hypervisor.internal.cpu.LockedBench [seconds]
 * </pre>
 */
public final class LockedBench {

    private LockedBench() {
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        CpuTestSupport t = new CpuTestSupport();
        t.flat32(0x1000, """
                    mov esi, 0x10000
                    xor ebx, ebx
                outer:
                    mov ecx, 1000
                inner:
                    mov eax, [esi + ecx*4]
                    add eax, ecx
                    lock add [esi + 8000], eax
                    xchg [esi + 8004], eax
                    mov [esi + ecx*4], eax
                    add ebx, eax
                    mov eax, [esi + 8008]
                    lea edx, [eax + 1]
                    lock cmpxchg [esi + 8008], edx
                    lock bts dword [esi + 8012], 3
                    dec ecx
                    jnz inner
                    jmp outer
                """);
        CpuBench.measure(t, "xenj locked bench", seconds);
    }
}
