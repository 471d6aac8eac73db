package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * spec/RUNTIME.md section 6 in this JVM, once libmxnet.so is loaded: what was applied, and setters that come too
 * late (ThreadRuleTest covers the settings before the load, each in a child JVM).
 */
class EnvironmentTest {
    @Test
    void whatWasAppliedNamesTheLibraryAndNeverChanges() throws Exception {
        Environment.Applied a = Environment.load();
        assertSame(a, Environment.applied().orElseThrow());
        assertTrue(Files.isSameFile(Path.of(a.getLibraryPath()), Path.of(Mxnet.path())), a.getLibraryPath());
        assertEquals(109, a.getLibraryVersion() / 100);
        assertTrue(a.getEngineWorkers() >= 1 && !a.getReason().isEmpty(), a.toString());
        if (a.getOutcome() == Environment.Outcome.APPLIED) {
            assertEquals(Math.max(1, a.getRequestedThreads() / a.getEngineWorkers()), a.getThreads(), a.toString());
        }
    }

    @Test
    void aSettingAfterTheLoadIsInvalidArgumentNamingTheFixUnlessItIsTheSame() {
        Environment.Applied a = Environment.load();
        int other = a.getRequestedThreads() == 1 ? 2 : 1;
        MxportException e = assertThrows(MxportException.class, () -> Environment.setThreads(other));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        assertTrue(
                e.getMessage().contains("cannot set mxport.threads=" + other + ": libmxnet.so is already loaded")
                        && e.getMessage().contains("Fix: set it before the first Predictor loads"),
                e.getMessage());
        e = assertThrows(MxportException.class, () -> Environment.setEngineWorkers(a.getRequestedEngineWorkers() + 1));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        Environment.setEngineWorkers(a.getRequestedEngineWorkers()); // the same value changes nothing
        if (a.getRequestedThreads() > 0) {
            Environment.setThreads(a.getRequestedThreads());
        }
        e = assertThrows(MxportException.class, () -> Environment.setLibraryPath("/nowhere/libmxnet.so"));
        assertTrue(e.getMessage().contains("this process runs " + a.getLibraryPath()), e.getMessage());
        assertSame(a, Environment.applied().orElseThrow(), "decided once per process");
    }

    @Test
    void aSettingThatIsNotPositiveIsInvalidArgument() {
        for (int bad : new int[] {0, -3}) {
            MxportException e = assertThrows(MxportException.class, () -> Environment.setThreads(bad));
            assertEquals("INVALID_ARGUMENT", e.getCode());
            assertTrue(
                    e.getMessage()
                            .startsWith("[INVALID_ARGUMENT] mxport.threads=" + bad + " is not a positive integer"),
                    e.getMessage());
            assertEquals(
                    "INVALID_ARGUMENT",
                    assertThrows(MxportException.class, () -> Environment.setEngineWorkers(bad))
                            .getCode());
        }
        assertEquals(
                "INVALID_ARGUMENT",
                assertThrows(MxportException.class, () -> Environment.setLibraryPath(" "))
                        .getCode());
    }
}
