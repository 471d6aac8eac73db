package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The short version of the soak ({@link Soak}; {@code make soak} runs the long one): 4 threads for 20 s, two on
 * shared Predictors and two on their own (reopened now and then), ResNet-18 and two small models, every output
 * compared bit for bit with the serial run.
 */
class SoakTest {
    static final double SECONDS = 20;
    static final int THREADS = 4;
    /**
     * VmRSS may grow this much from the start of the load (after the references and the shared Predictors'
     * warm-up) to its end (the threads' own Predictors closed, the shared ones open). Measured on 2026-11-25
     * (2 cores, java/SOAK.md): +114 MB to +211 MB over 20 s, +137 MB to +189 MB over 180 s. The growth does not
     * scale with time, so it is the allocators and MXNet settling, not a per-call leak. 512 MB is about 2.4 times
     * the worst measured: a coarse guard against gross leaks; LeakTest measures create/close leaks finely.
     */
    static final long MAX_RSS_GROWTH_KB = 512 * 1024;

    @Test
    void fourThreadsTwentySecondsNoErrorsNoMismatches() throws Exception {
        Path report = TestSupport.root().resolve(".cache").resolve("reports").resolve("soak-test.json");
        Soak.Result r = Soak.run(SECONDS, THREADS, TestSupport.resnet(), report, System.out);
        assertEquals(0, r.mismatches, () -> "mismatches: " + r.failures);
        assertEquals(0, r.errors, () -> "errors: " + r.failures);
        assertTrue(r.predictions > 0, "no prediction ran");
        long growth = r.rssEndKb - r.rssStartKb;
        assertTrue(growth < MAX_RSS_GROWTH_KB, "VmRSS grew by " + growth + " kB during the soak: " + r.summary());
    }
}
