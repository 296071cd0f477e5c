package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Memory as the x87 unit sees it: linear addresses, already segment-checked by the CPU. Accesses
 * may throw the CPU's (preallocated) page-fault exception, which the x87 must let propagate
 * without having changed its state (check/read all operands before committing).
 */
public interface FpuMemory {
    int readByte(int linear);

    int readWord(int linear);

    int readDword(int linear);

    long readQword(int linear);

    void writeByte(int linear, int value);

    void writeWord(int linear, int value);

    void writeDword(int linear, int value);

    void writeQword(int linear, long value);
}
