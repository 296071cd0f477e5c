package org.xenj.hypervisor.internal.cpu.jit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compiles blocks off the vCPU thread and hands the results back. One engine per vCPU: its single
 * compile thread exists only while there is work (it ends after a second idle), so a dropped vCPU
 * leaves nothing running. Compiled classes are hidden classes of the CPU's package (the lookup
 * the vCPU passes in), not reachable by name: when the block cache drops a block, its class can
 * be unloaded. The queue is bounded; requests beyond it are dropped (the block stays interpreted
 * and may be requested again after it is rebuilt).
 */
public final class JitEngine {

    /**
     * A finished compilation for the block cache slot {@code slot} as it was in generation
     * {@code generation}; {@code guards} as in {@link BlockCompiler.Result#guards}.
     */
    public record Translation(int slot, int generation, CompiledBlock block, int instructions, int classBytes, int guards) {
    }

    private final MethodHandles.Lookup lookup;
    private final JitOptions options;
    private final ThreadPoolExecutor executor;
    private final ConcurrentLinkedQueue<Translation> done = new ConcurrentLinkedQueue<>();
    private final AtomicLong compiled = new AtomicLong(), rejected = new AtomicLong(), compileNanos = new AtomicLong(),
            dropped = new AtomicLong(), classBytes = new AtomicLong();

    /** {@code lookup} must have full privilege in the package the blocks are to live in. */
    public JitEngine(MethodHandles.Lookup lookup, JitOptions options) {
        this.lookup = lookup;
        this.options = options;
        HotSpotTier.apply();
        if (options.synchronous()) {
            executor = null;
        } else {
            executor = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS, new ArrayBlockingQueue<>(options.queue()), r -> {
                Thread t = new Thread(r, "xenj-jit");
                t.setDaemon(true);
                t.setPriority(Thread.NORM_PRIORITY - 1);
                return t;
            }, (r, ex) -> dropped.incrementAndGet());
            executor.allowCoreThreadTimeOut(true);
        }
    }

    public JitOptions options() {
        return options;
    }

    /** Compiles {@code spec} for slot {@code slot}; the result shows up in {@link #poll} (at once when synchronous). */
    public void submit(BlockSpec spec, int slot, int generation) {
        if (executor == null) {
            compileNow(spec, slot, generation);
        } else {
            executor.execute(() -> compileNow(spec, slot, generation));
        }
    }

    /** Whether finished compilations wait to be installed (cheap: checked once per slice). */
    public boolean hasResults() {
        return !done.isEmpty();
    }

    public Translation poll() {
        return done.poll();
    }

    private void compileNow(BlockSpec spec, int slot, int generation) {
        long t0 = System.nanoTime();
        try {
            BlockCompiler.Result r = BlockCompiler.compile(spec, options.lockstep());
            if (r.instructions() == 0) {
                rejected.incrementAndGet();
                return;
            }
            MethodHandles.Lookup hidden = lookup.defineHiddenClass(r.classBytes(), true);
            CompiledBlock block = (CompiledBlock) hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class))
                    .invoke();
            block.classBytes(r.classBytes().length);
            compiled.incrementAndGet();
            classBytes.addAndGet(r.classBytes().length);
            done.add(new Translation(slot, generation, block, r.instructions(), r.classBytes().length, r.guards()));
        } catch (Throwable e) {
            // a translator bug must not take the vCPU down: the block just stays interpreted
            rejected.incrementAndGet();
            System.getLogger(JitEngine.class.getName()).log(System.Logger.Level.WARNING, "block at 0x"
                    + Integer.toHexString(spec.startEip()) + " not compiled", e);
        } finally {
            compileNanos.addAndGet(System.nanoTime() - t0);
        }
    }

    /** Blocks compiled, not compilable (first instruction outside the subset), dropped (queue full). */
    public long compiledCount() {
        return compiled.get();
    }

    public long rejectedCount() {
        return rejected.get();
    }

    public long droppedCount() {
        return dropped.get();
    }

    public long compileNanos() {
        return compileNanos.get();
    }

    /** Bytes of class files produced so far (what was defined; live code is what the cache still holds). */
    public long classBytesTotal() {
        return classBytes.get();
    }
}
