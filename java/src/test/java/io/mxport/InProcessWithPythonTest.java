package io.mxport;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Python imports mxnet, then starts this JVM in its own process through JPype: Java must use the very
 * libmxnet.so Python loaded (a second copy aborts the process), found through /proc/self/maps.
 */
class InProcessWithPythonTest {
    @Test
    void javaUsesTheLibmxnetPythonLoaded(@TempDir Path tmp) throws Exception {
        String script = String.join(
                "\n",
                "import os, sys, jpype, mxnet as mx, numpy as np",
                "import mxport",
                "os.chdir(sys.argv[3])  # no .venv above: only /proc/self/maps can lead Java to libmxnet",
                "jpype.startJVM(classpath=sys.argv[1].split(os.pathsep))",
                "Predictor = jpype.JClass('io.mxport.Predictor')",
                "p = Predictor(sys.argv[2])",
                "print('JAVA_LIB', jpype.JClass('io.mxport.LibraryProbe').loadedLibrary())",
                "print('PY_LIB', os.path.realpath(mx.base._LIB._name))",
                "block = mxport.load(sys.argv[2])",
                "x = np.arange(2 * 12 * 10 * 3, dtype='uint8').reshape(2, 12, 10, 3)",
                "want = block(mx.nd.array(x, dtype='uint8')).asnumpy()",
                "NDArray = jpype.JClass('io.mxport.NDArray'); Shape = jpype.JClass('io.mxport.Shape')",
                "arr = NDArray.ofBytes(jpype.JArray(jpype.JByte)(x.astype('int8').ravel().tolist()), Shape(jpype.JArray(jpype.JInt)([2, 12, 10, 3])))",
                "got = np.array(list(p.predictWithNDArray(jpype.JClass('java.util.List').of(arr)).get(0).toFloatArray()), dtype='float32')",
                "print('EQUAL', bool((got == want.ravel()).all()))",
                "p.close()");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String out = TestSupport.run(
                List.of(
                        TestSupport.python(),
                        "-c",
                        script,
                        classpath,
                        TestSupport.vectors().resolve("uint8_image/model").toString(),
                        tmp.toString()),
                300);
        String javaLib = null;
        String pyLib = null;
        for (String line : out.split("\n")) {
            if (line.startsWith("JAVA_LIB ")) {
                javaLib = Path.of(line.substring(9).strip()).toRealPath().toString();
            } else if (line.startsWith("PY_LIB ")) {
                pyLib = line.substring(7).strip();
            }
        }
        assertTrue(
                javaLib != null && javaLib.equals(pyLib), "Java loaded " + javaLib + ", Python " + pyLib + ":\n" + out);
        assertTrue(out.contains("EQUAL True"), out);
    }
}
