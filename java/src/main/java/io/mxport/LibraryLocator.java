package io.mxport;

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
import java.util.function.Predicate;

/**
 * Finds {@code libmxnet.so} (calls no MXNet function; {@link Mxnet} loads what this finds).
 *
 * <p>Search order (the first that exists wins):
 * <ol>
 *   <li>system property {@code mxport.library.path}, then env {@code MXNET_LIBRARY_PATH}: the file, or a folder
 *       holding {@code libmxnet.so};</li>
 *   <li>a {@code libmxnet.so} already mapped in this process ({@code /proc/self/maps}), e.g. loaded by Python's
 *       {@code mxnet} under JPype: a second copy would abort the process, so an explicit path that names
 *       another file is refused;</li>
 *   <li>the Maven dependency {@code ai.djl.mxnet:mxnet-native-mkl:1.9.1:linux-x86_64} on the classpath (a runtime
 *       dependency of {@code io.mxport:mxport}), extracted once into a cache folder and checked against pinned
 *       SHA-256 values ({@link BundledLibrary}: system property {@code mxport.native.cache} or env
 *       {@code MXPORT_NATIVE_CACHE} moves the folder); in a Python process (a JVM started by JPype) it comes last
 *       but one, after the two Python places below, because the {@code libmxnet.so} that Python's {@code mxnet}
 *       would load later must be the one this process already has;</li>
 *   <li>the {@code mxnet} package of a {@code .venv} in the working directory or one of its parents;</li>
 *   <li>the {@code mxnet} package of the Python named by system property {@code mxport.python}, env
 *       {@code MXPORT_PYTHON}, in a Python process (JPype) the interpreter it was started as, then
 *       {@code python3} on the PATH (asked through {@code mxnet/libinfo.py}
 *       alone, without importing mxnet);</li>
 *   <li>the folders of {@code java.library.path}.</li>
 * </ol>
 * Nothing is downloaded.
 */
final class LibraryLocator {
    static final String LIB = "libmxnet.so";

    private LibraryLocator() {}

    /** Where libmxnet.so is, and whether this process has it mapped already. */
    static final class Found {
        final String path;
        final boolean alreadyMapped;
        /** Every place looked at, for the error message when loading the found file fails. */
        final List<String> tried;

        Found(String path, boolean alreadyMapped, List<String> tried) {
            this.path = path;
            this.alreadyMapped = alreadyMapped;
            this.tried = tried;
        }
    }

    /** The library to load, in the search order above; LIBRARY_NOT_FOUND naming every place tried. */
    static Found find() {
        List<String> tried = new ArrayList<>();
        String mapped = mappedLibrary();
        String chosen = null;
        for (String[] explicit : new String[][] {
            Environment.libraryPathSetting(), {"env MXNET_LIBRARY_PATH", System.getenv("MXNET_LIBRARY_PATH")}
        }) {
            if (explicit[1] == null || explicit[1].isBlank()) {
                tried.add(explicit[0] + " (not set)");
                continue;
            }
            Path p = Paths.get(explicit[1]);
            Path file = Files.isDirectory(p) ? p.resolve(LIB) : p;
            if (Files.isRegularFile(file)) {
                if (mapped != null && !sameFile(file, Paths.get(mapped))) {
                    throw new MxportException(
                            ErrorCode.LIBRARY_NOT_FOUND,
                            explicit[0] + " names " + file
                                    + " but this process already has " + mapped
                                    + " loaded (e.g. by Python's mxnet); loading a"
                                    + " second libmxnet aborts the process: unset "
                                    + explicit[0].replace("system property ", "-D")
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
            if (!inPythonProcess()) {
                chosen = BundledLibrary.find(tried);
            }
        }
        if (chosen == null) {
            chosen = fromVenv(tried);
        }
        if (chosen == null) {
            chosen = fromPython(tried);
        }
        if (chosen == null && mapped == null && inPythonProcess()) {
            chosen = BundledLibrary.find(tried);
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
            throw new MxportException(
                    ErrorCode.LIBRARY_NOT_FOUND,
                    "no " + LIB + " found; tried:\n  - "
                            + String.join("\n  - ", tried)
                            + "\nFix: depend on io.mxport:mxport with its runtime dependencies (it brings "
                            + BundledLibrary.COORDINATES
                            + "), or pip install mxnet==1.9.1 (numpy<1.24) into ./.venv or the"
                            + " python3 on the PATH, or set -Dmxport.library.path=/path/to/" + LIB
                            + " (or env MXNET_LIBRARY_PATH),"
                            + " or env MXPORT_PYTHON=/path/to/python that has mxnet");
        }
        return new Found(chosen, mapped != null, tried);
    }

    /** Whether this JVM runs inside a Python interpreter (JPype), which may import mxnet after Java loaded. */
    static boolean inPythonProcess() {
        try {
            return Paths.get("/proc/self/exe")
                    .toRealPath()
                    .getFileName()
                    .toString()
                    .startsWith("python");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The interpreter path this Python process was started as (argv[0]: a venv's python keeps its venv). */
    private static String pythonOfThisProcess() {
        try {
            byte[] cmdline = Files.readAllBytes(Paths.get("/proc/self/cmdline"));
            int end = 0;
            while (end < cmdline.length && cmdline[end] != 0) {
                end++;
            }
            return new String(cmdline, 0, end, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return null;
        }
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
        return mapped(file -> file.equals(LIB));
    }

    /** The path of a GNU OpenMP runtime ({@code libgomp*.so*}, the one libmxnet uses) mapped into this process, or null. */
    static String mappedLibgomp() {
        return mapped(file -> file.startsWith("libgomp") && file.contains(".so"));
    }

    /** The first file mapped into this process ({@code /proc/self/maps}) whose file name is accepted, or null. */
    private static String mapped(Predicate<String> fileName) {
        Path maps = Paths.get("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return null;
        }
        try {
            for (String line : Files.readAllLines(maps, StandardCharsets.UTF_8)) {
                int slash = line.indexOf('/');
                if (slash >= 0 && fileName.test(line.substring(line.lastIndexOf('/') + 1))) {
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
            {"this Python process (JPype)", inPythonProcess() ? pythonOfThisProcess() : null},
            {"python3 on the PATH", "python3"}
        };
        for (String[] python : pythons) {
            if (python[1] == null || python[1].isBlank()) {
                tried.add(python[0] + " (not set)");
                continue;
            }
            String answer = ask(python[1]);
            if (answer != null && Files.isRegularFile(Paths.get(answer))) {
                return answer;
            }
            tried.add(python[0] + " = " + python[1] + " (" + (answer == null ? "no mxnet package" : "gave " + answer)
                    + ")");
        }
        return null;
    }

    private static String ask(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", ASK_LIBINFO)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String line;
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
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
}
