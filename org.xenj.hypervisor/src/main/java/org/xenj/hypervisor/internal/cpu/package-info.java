/**
 * The IA-32 CPU core (internal, not exported).
 *
 * <h2>Shape</h2>
 * One vCPU is one {@link org.xenj.hypervisor.internal.cpu.Cpu} object. Its code is split by
 * responsibility over a chain of package-private abstract classes so that all state stays in plain
 * fields of that single object (no indirection on the hot path) while no file grows large:
 * {@code CpuRegs} (registers, lazy flags) &rarr; {@code CpuTlb} (TLB slots, invalidation, watched code
 * pages) &rarr; {@code CpuMmu} (page walk, TLB fill, linear and physical access)
 * &rarr; {@code CpuSeg} (descriptors, segment loads, stack) &rarr; {@code CpuTransfer} (IDT delivery,
 * far transfers, IRET, task switches, #DF/triple fault) &rarr; {@code CpuAlu} &rarr; {@code CpuDecode}
 * (fetch window, table-driven decoder) &rarr; {@code CpuString} &rarr; {@code CpuExec} (one-byte
 * opcodes) &rarr; {@code CpuSystem} (CRs, MSRs, CPUID) &rarr; {@code CpuExec0F} &rarr; {@code Cpu}.
 * {@link org.xenj.hypervisor.internal.cpu.CpuExecutor} runs it for the scheduler.
 *
 * <h2>Performance rules followed</h2>
 * <ul>
 * <li>Decoding is driven by {@code OpTable} (ModRM and immediate kind per opcode); all bytes of an
 * instruction are consumed before it executes, so EIP is already the next instruction and a fault
 * only has to restore it from {@code startEip}.</li>
 * <li>Instruction fetch reads the RAM chunk of the current code page directly through a window of
 * indexes. Decoded blocks are cached by {@code CpuBlocks} (rows of ints per instruction, keyed by
 * host chunk and index, CS size, base and limit); a block re-checks its bytes against the RAM before
 * it runs unless nothing could have changed them since its last check (same slice, code pages it
 * already ran from in it, no store into those pages, no TLB flush, CS load, CPUID or hypercall),
 * and stores into those pages end the block. So self-modifying code, DMA and hypercall writes are seen without any writer
 * having to know about the cache.</li>
 * <li>The TLB is direct-mapped primitive arrays per privilege (supervisor/user): read tag, write
 * tag (set only when writable and already dirty), host chunk and offset. Misses walk the guest
 * page tables (2-level, PSE, PAE, PGE, A/D bits); non-RAM goes to
 * {@link org.xenj.hypervisor.internal.exec.CpuEnvironment#mmioRead}.</li>
 * <li>Lazy flags: the last arithmetic operation's kind, width, operands and result in int fields;
 * flags are computed only when read.</li>
 * <li>Exceptions unwind with one preallocated stackless {@code CpuFault}; vector and error code are
 * fields of the CPU. Read-modify-write instructions check writability before changing anything,
 * so faults are precise.</li>
 * <li>Interrupts, timers, the deadline and exit requests are looked at between blocks of
 * instructions, never per instruction.</li>
 * <li>PV writable page tables: {@link org.xenj.hypervisor.internal.cpu.Cpu#emulateCapturingStores}
 * re-executes one faulting instruction with the accesses to one page going to a
 * {@link org.xenj.hypervisor.internal.cpu.StoreCapture}; the check for that page is on the TLB
 * slow paths only (the page is mapped read-only, so its stores never hit a write tag).</li>
 * </ul>
 *
 * <h2>Not (yet) implemented</h2>
 * Debug-register breakpoints (DR0-DR3 are stored, never matched),
 * VME/PVI, SSE/MMX. Hot cached blocks are translated to JVM bytecode by {@code jit} (on by default;
 * see DESIGN-jit.md).
 *
 * <h2>Test tools</h2>
 * {@code CpuBench} (test sources) prints a MIPS figure for a tight loop; {@code probe.LinuxBootProbe}
 * boots a bzImage (or an extracted vmlinux) on a deliberately minimal PC to find CPU bugs with a
 * real kernel; {@code diff.CpuDiffTest} (the x87 helper's harness) compares against the host CPU.
 * What the host cannot run (16-bit stacks and code, ring 0, gates, far transfers) is checked
 * against models written from the SDM's pseudo-code: {@code StackSizeMatrixTest} (every
 * stack-touching instruction over code size &times; operand size &times; address size &times;
 * stack size, against {@code StackModel}) and {@code PrefixValidityTest} (LOCK on every opcode,
 * repeated prefixes, the 15-byte limit).
 *
 * <h2>EIP in 16-bit code</h2>
 * EIP is never truncated by sequential execution, only by branches with a 16-bit operand size
 * (as since the 80386: past 0xFFFF it is a #GP with a real-mode limit, and code above 64 KiB runs
 * in big real mode with a 4 GiB CS limit). Near branches check their target against the CS limit
 * at the branch.
 */
package org.xenj.hypervisor.internal.cpu;
