package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** MXNet's own failures become NATIVE_ERROR carrying MXGetLastError(). */
class NativeErrorTest {
    @Test
    void aFailedNativeCallCarriesMxnetsMessage() {
        MxportException e = assertThrows(MxportException.class, () -> Mxnet.newArray(new int[] {2, 3}, 99));
        assertEquals("NATIVE_ERROR", e.getCode());
        assertTrue(e.getMessage().startsWith("[NATIVE_ERROR] MXNDArrayCreateEx failed: "), e.getMessage());
        assertTrue(e.getMessage().length() > 60, "carries MXNet's message: " + e.getMessage());
    }

    @Test
    void theThreadRuleWasDecidedOnce() {
        ThreadRule.Decision d = Mxnet.threadDecision();
        boolean userSet = ThreadRule.userVariable() != null;
        assertEquals(userSet ? ThreadRule.Outcome.ENVIRONMENT : ThreadRule.Outcome.APPLIED, d.outcome, d.toString());
        assertEquals(userSet ? -1 : Runtime.getRuntime().availableProcessors(), Predictor.engineThreadCount());
        assertTrue(d == Mxnet.threadDecision(), "decided once per process");
    }
}
