package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.ptr.PointerByReference;
import org.junit.jupiter.api.Test;

/** MXNet's own failures become NATIVE_ERROR carrying MXGetLastError(). */
class NativeErrorTest {
    @Test
    void aFailedNativeCallCarriesMxnetsMessage() {
        MxnetLibrary lib = Mxnet.lib();
        MxportException e = assertThrows(MxportException.class,
                () -> Mxnet.check(lib.MXSymbolCreateFromJSON("{\"nodes\": 3}", new PointerByReference()), "MXSymbolCreateFromJSON"));
        assertEquals("NATIVE_ERROR", e.getCode());
        assertTrue(e.getMessage().startsWith("[NATIVE_ERROR] MXSymbolCreateFromJSON failed: "), e.getMessage());
        assertTrue(e.getMessage().length() > 60, "carries MXNet's message: " + e.getMessage());
    }

    @Test
    void theThreadRuleWasApplied() {
        int applied = Mxnet.appliedThreadCount();
        boolean userSet = System.getenv("OMP_NUM_THREADS") != null || System.getenv("MXNET_OMP_MAX_THREADS") != null;
        assertEquals(userSet ? -1 : Runtime.getRuntime().availableProcessors(), applied);
    }
}
