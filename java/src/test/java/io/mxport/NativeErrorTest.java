package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** MXNet's own failures become NATIVE_ERROR carrying MXGetLastError(). */
class NativeErrorTest {
    @Test
    void aFailedNativeCallCarriesMxnetsMessage() {
        Environment.load();
        MxportException e = assertThrows(MxportException.class, () -> Mxnet.newArray(new int[] {2, 3}, 99));
        assertEquals("NATIVE_ERROR", e.getCode());
        assertTrue(e.getMessage().startsWith("[NATIVE_ERROR] MXNDArrayCreateEx failed: "), e.getMessage());
        assertTrue(e.getMessage().length() > 60, "carries MXNet's message: " + e.getMessage());
    }

    @Test
    void theThreadRuleWasDecidedOnce() {
        Environment.Applied d = Environment.load();
        boolean userSet = ThreadRule.userVariable() != null;
        assertEquals(
                userSet ? Environment.Outcome.ENVIRONMENT : Environment.Outcome.APPLIED, d.getOutcome(), d.toString());
        assertEquals(userSet ? -1 : Runtime.getRuntime().availableProcessors(), d.getThreads());
        assertTrue(d == Environment.load() && d == Environment.applied().orElseThrow(), "decided once per process");
    }
}
