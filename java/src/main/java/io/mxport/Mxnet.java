package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Finds, loads and configures {@code libmxnet.so}, lazily and once per process (a failed attempt is retried on
 * the next call: no static initializer can poison the class).
 *
 * <p>Search order (the first that exists wins):
 * <ol>
 *   <li>system property {@code mxport.library.path}, then env {@code MXNET_LIBRARY_PATH}: the file, or a folder
 *       holding {@code libmxnet.so};</li>
 *   <li>a {@code libmxnet.so} already mapped in this process ({@code /proc/self/maps}), e.g. loaded by Python's
 *       {@code mxnet} under JPype: a second copy would abort the process, so an explicit path that names
 *       another file is refused;</li>
 *   <li>the {@code mxnet} package of a {@code .venv} in the working directory or one of its parents;</li>
 *   <li>the {@code mxnet} package of the Python named by system property {@code mxport.python}, env
 *       {@code MXPORT_PYTHON}, then {@code python3} on the PATH (asked through {@code mxnet/libinfo.py}
 *       alone, without importing mxnet);</li>
 *   <li>the folders of {@code java.library.path}.</li>
 * </ol>
 * Nothing is downloaded.
 */
final class Mxnet {
    static final String LIB = "libmxnet.so";
    private static volatile MxnetLibrary lib;
    private static String libPath;
    private static final List<MxnetLibrary.EngineSyncFunc> KEEP = new ArrayList<>(); // callbacks must outlive the engine's use

    private Mxnet() {
    }

    /** The loaded library; loads it on first use. */
    static MxnetLibrary lib() {
        MxnetLibrary l = lib;
        if (l == null) {
            synchronized (Mxnet.class) {
                if (lib == null) {
                    lib = loadAndConfigure();
                }
                l = lib;
            }
        }
        return l;
    }

    static synchronized String path() {
        lib();
        return libPath;
    }

    /** Throws NATIVE_ERROR with MXGetLastError() when {@code rc != 0}. */
    static void check(int rc, String what) {
        if (rc != 0) {
            throw new MxportException(ErrorCode.NATIVE_ERROR, what + " failed: " + lastError());
        }
    }

    static String lastError() {
        String e = lib().MXGetLastError();
        return e == null ? "(no message)" : e.strip();
    }

    /** The first line of MXNet's last error, without its stack trace. */
    static String lastErrorLine() {
        String text = lastError();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("Stack trace")) {
                return line.strip();
            }
        }
        return text;
    }

    private static MxnetLibrary loadAndConfigure() {
        List<String> tried = new ArrayList<>();
        String mapped = mappedLibrary();
        String chosen = null;
        for (String[] explicit : new String[][] {
                {"system property mxport.library.path", System.getProperty("mxport.library.path")},
                {"env MXNET_LIBRARY_PATH", System.getenv("MXNET_LIBRARY_PATH")}}) {
            if (explicit[1] == null || explicit[1].isBlank()) {
                tried.add(explicit[0] + " (not set)");
                continue;
            }
            Path p = Paths.get(explicit[1]);
            Path file = Files.isDirectory(p) ? p.resolve(LIB) : p;
            if (Files.isRegularFile(file)) {
                if (mapped != null && !sameFile(file, Paths.get(mapped))) {
                    throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, explicit[0] + " names " + file
                            + " but this process already has " + mapped + " loaded (e.g. by Python's mxnet); loading a"
                            + " second libmxnet aborts the process: unset " + explicit[0].replace("system property ", "-D")
                            + " or point it at " + mapped);
                }
                chosen = file.toString();
                break;
            }
            tried.add(explicit[0] + " = " + explicit[1] + " (no " + file + ")");
        }
        if (chosen == null && mapped != null) {
            chosen = mapped;
        } else if (chosen == null) {
            tried.add("/proc/self/maps (no libmxnet.so loaded in this process)");
            chosen = fromVenv(tried);
        }
        if (chosen == null) {
            chosen = fromPython(tried);
        }
        if (chosen == null) {
            for (String dir : System.getProperty("java.library.path", "").split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path file = Paths.get(dir, LIB);
                if (Files.isRegularFile(file)) {
                    chosen = file.toString();
                    break;
                }
                tried.add("java.library.path entry " + dir + " (no " + LIB + ")");
            }
        }
        if (chosen == null) {
            throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, "no " + LIB + " found; tried:\n  - "
                    + String.join("\n  - ", tried) + "\nFix: pip install mxnet==1.9.1 (numpy<1.24) into ./.venv or the"
                    + " python3 on the PATH, or set -Dmxport.library.path=/path/to/" + LIB + " (or env MXNET_LIBRARY_PATH),"
                    + " or env MXPORT_PYTHON=/path/to/python that has mxnet");
        }
        MxnetLibrary loaded;
        try {
            loaded = MxnetLibrary.load(chosen);
        } catch (UnsatisfiedLinkError e) {
            tried.add(chosen + " (found, but loading failed: " + e.getMessage() + ")");
            throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, "cannot load " + LIB + "; tried:\n  - "
                    + String.join("\n  - ", tried) + "\nFix: install the system libraries it needs (libgomp1, libquadmath0)"
                    + " or point -Dmxport.library.path at a working " + LIB);
        }
        IntByReference version = new IntByReference();
        if (loaded.MXGetVersion(version) != 0 || version.getValue() / 100 != 109) {
            throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, chosen + " is MXNet version " + version.getValue()
                    + "; mxport needs 1.9.x (pip install mxnet==1.9.1)");
        }
        libPath = chosen;
        applyDefaultThreads(loaded);
        return loaded;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** The path of a libmxnet.so already mapped into this process, or null. */
    static String mappedLibrary() {
        Path maps = Paths.get("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return null;
        }
        try {
            for (String line : Files.readAllLines(maps, StandardCharsets.UTF_8)) {
                int slash = line.indexOf('/');
                if (slash >= 0 && line.endsWith("/" + LIB)) {
                    return line.substring(slash);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static String fromVenv(List<String> tried) {
        Path dir = Paths.get(System.getProperty("user.dir")).toAbsolutePath();
        for (; dir != null; dir = dir.getParent()) {
            Path lib = dir.resolve(".venv").resolve("lib");
            if (!Files.isDirectory(lib)) {
                continue;
            }
            try (DirectoryStream<Path> pythons = Files.newDirectoryStream(lib, "python3*")) {
                for (Path py : pythons) {
                    Path file = py.resolve("site-packages").resolve("mxnet").resolve(LIB);
                    if (Files.isRegularFile(file)) {
                        return file.toString();
                    }
                }
            } catch (IOException e) {
                // fall through to the next place
            }
            tried.add(lib + "/python3*/site-packages/mxnet (no " + LIB + ")");
        }
        tried.add(".venv in " + System.getProperty("user.dir") + " and its parents (none with mxnet)");
        return null;
    }

    private static final String ASK_LIBINFO = "import importlib.util as u,os\n"
            + "s=u.find_spec('mxnet')\n"
            + "f=os.path.join(s.submodule_search_locations[0],'libinfo.py')\n"
            + "p=u.spec_from_file_location('_mxport_libinfo',f)\n"
            + "m=u.module_from_spec(p)\n"
            + "p.loader.exec_module(m)\n"
            + "print(m.find_lib_path()[0])\n";

    private static String fromPython(List<String> tried) {
        String[][] pythons = {
                {"system property mxport.python", System.getProperty("mxport.python")},
                {"env MXPORT_PYTHON", System.getenv("MXPORT_PYTHON")},
                {"python3 on the PATH", "python3"}};
        for (String[] python : pythons) {
            if (python[1] == null || python[1].isBlank()) {
                tried.add(python[0] + " (not set)");
                continue;
            }
            String answer = ask(python[1]);
            if (answer != null && Files.isRegularFile(Paths.get(answer))) {
                return answer;
            }
            tried.add(python[0] + " = " + python[1] + " (" + (answer == null ? "no mxnet package" : "gave " + answer) + ")");
        }
        return null;
    }

    private static String ask(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", ASK_LIBINFO).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String line;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                line = r.readLine();
            }
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 && line != null ? line.strip() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    // ---- the thread rule (python/src/mxport/_threads.py) ----

    static final String[] USER_VARIABLES = {"OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"};
    private static int appliedThreads = -1;

    /** The OpenMP thread count mxport set on the engine, or -1 when the user's environment setting stands. */
    static synchronized int appliedThreadCount() {
        lib();
        return appliedThreads;
    }

    /**
     * Every core the process may run on, unless the user chose a thread count. MXSetNumOMPThreads only sets the
     * calling thread's count and operators run on the engine's CPU worker, so the call is pushed onto the engine.
     */
    private static void applyDefaultThreads(MxnetLibrary l) {
        for (String v : USER_VARIABLES) {
            String value = System.getenv(v);
            if (value != null && !value.isEmpty()) {
                return;
            }
        }
        int count = Runtime.getRuntime().availableProcessors();
        check(l, l.MXSetNumOMPThreads(count), "MXSetNumOMPThreads");
        MxnetLibrary.EngineSyncFunc onWorker = (runContext, param) -> l.MXSetNumOMPThreads(count);
        KEEP.add(onWorker);
        Memory cpu = new Memory(8);
        cpu.setInt(0, 1); // kCPU
        cpu.setInt(4, 0);
        check(l, l.MXEnginePushSync(onWorker, null, null, cpu, null, 0, null, 0, null, 0, "mxport_set_threads"),
                "MXEnginePushSync");
        check(l, l.MXNDArrayWaitAll(), "MXNDArrayWaitAll");
        appliedThreads = count;
    }

    private static void check(MxnetLibrary l, int rc, String what) {
        if (rc != 0) {
            throw new MxportException(ErrorCode.NATIVE_ERROR, what + " failed: " + l.MXGetLastError());
        }
    }

    /** Reads a C array of {@code n} C strings. */
    static List<String> strings(Pointer array, int n) {
        List<String> out = new ArrayList<>(n);
        if (n > 0) {
            for (Pointer p : array.getPointerArray(0, n)) {
                out.add(p.getString(0, "UTF-8"));
            }
        }
        return out;
    }
}
