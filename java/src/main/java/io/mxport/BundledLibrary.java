package io.mxport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code libmxnet.so} from the Maven dependency {@code ai.djl.mxnet:mxnet-native-mkl:1.9.1:linux-x86_64}: its
 * {@code native/lib/*} files, extracted once into a cache folder and checked against SHA-256 values pinned in
 * mxport ({@code mxnet-native-mkl-linux-x86_64.sha256} beside this class).
 *
 * <p>The cache folder is {@code <root>/<version>-<hash>}, where the root is system property
 * {@code mxport.native.cache}, else env {@code MXPORT_NATIVE_CACHE}, else {@code $XDG_CACHE_HOME/mxport/native},
 * else {@code ~/.cache/mxport/native}, and the hash is that of the pinned list (a new pin gets a new folder).
 * Extraction is atomic and safe for several JVMs at once: under a file lock, into a temporary folder beside it
 * that is renamed into place when every file matched its pin. An existing folder is checked file by file on each
 * first load of a process; a file that differs makes the folder extracted anew. Point the root at a writable,
 * exec-allowed folder where the home folder is read-only or {@code /tmp} is mounted noexec.
 */
final class BundledLibrary {
    static final String PROPERTY = "mxport.native.cache";
    static final String ENV = "MXPORT_NATIVE_CACHE";
    static final String COORDINATES = "ai.djl.mxnet:mxnet-native-mkl:1.9.1:linux-x86_64";
    private static final String PINS = "mxnet-native-mkl-linux-x86_64.sha256";
    private static final String JAR_DIR = "native/lib/";
    private static final String PROPERTIES = "mxnet.properties";

    private BundledLibrary() {}

    /**
     * The path of the extracted {@code libmxnet.so}, or null when the native jar is not on the classpath or cannot
     * be used; each reason is appended to {@code tried}.
     */
    static String find(List<String> tried) {
        return find(cacheRoot(), tried);
    }

    /** {@link #find(List)} with the cache root given. */
    static synchronized String find(Path root, List<String> tried) {
        String where = "classpath " + COORDINATES;
        ClassLoader loader = BundledLibrary.class.getClassLoader();
        if (loader.getResource(JAR_DIR + PROPERTIES) == null) {
            tried.add(where + " (not on the classpath: add the Maven dependency, or it was excluded)");
            return null;
        }
        Path folder = null;
        try {
            Map<String, String> pins = pins();
            String version = jarVersion(loader, pins.keySet());
            folder = root.resolve(version + "-" + sha256(pinsText()).substring(0, 12));
            if (!matches(folder, pins)) {
                extract(loader, folder, pins);
            }
            return folder.resolve(LibraryLocator.LIB).toString();
        } catch (IOException | RuntimeException e) {
            String why = e instanceof java.nio.file.FileSystemException || e.getMessage() == null
                    ? e.getClass().getSimpleName() + ": " + e.getMessage()
                    : e.getMessage();
            tried.add(where + " (cannot extract into " + (folder != null ? folder : root) + ": " + why
                    + "; fix: point -D" + PROPERTY + " (or env " + ENV + ") at a writable folder that allows"
                    + " executables)");
            return null;
        }
    }

    /** The cache root, from the system property, the env variable, or the user's cache folder. */
    static Path cacheRoot() {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(ENV);
        }
        if (p != null && !p.isBlank()) {
            return Paths.get(p).toAbsolutePath();
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base =
                xdg != null && !xdg.isBlank() ? Paths.get(xdg) : Paths.get(System.getProperty("user.home"), ".cache");
        return base.resolve("mxport").resolve("native").toAbsolutePath();
    }

    /** File name -> SHA-256 (hex), from the pinned resource. */
    static Map<String, String> pins() throws IOException {
        Map<String, String> pins = new TreeMap<>();
        for (String line : pinsText().split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+", 2);
            pins.put(parts[1], parts[0]);
        }
        return pins;
    }

    private static String pinsText() throws IOException {
        try (InputStream in = BundledLibrary.class.getResourceAsStream(PINS)) {
            if (in == null) {
                throw new IOException("mxport's own resource " + PINS + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The jar's version from its mxnet.properties, after checking it lists exactly the pinned libraries. */
    private static String jarVersion(ClassLoader loader, java.util.Set<String> pinned) throws IOException {
        Properties props = new Properties();
        try (InputStream in = loader.getResourceAsStream(JAR_DIR + PROPERTIES)) {
            props.load(in);
        }
        TreeSet<String> listed =
                new TreeSet<>(List.of(props.getProperty("libraries", "").split(",")));
        listed.add(PROPERTIES);
        if (!listed.equals(new TreeSet<>(pinned))) {
            throw new IOException(
                    "the native jar lists " + listed + ", mxport pins " + pinned + ": use " + COORDINATES);
        }
        String version = props.getProperty("version", "");
        if (!version.matches("[0-9A-Za-z._-]+")) {
            throw new IOException("the native jar's mxnet.properties has no usable version (" + version + ")");
        }
        return version;
    }

    /** Whether every pinned file is in the folder with its pinned digest. */
    private static boolean matches(Path folder, Map<String, String> pins) throws IOException {
        if (!Files.isDirectory(folder)) {
            return false;
        }
        for (Map.Entry<String, String> pin : pins.entrySet()) {
            Path file = folder.resolve(pin.getKey());
            if (!Files.isRegularFile(file)) {
                return false;
            }
            try (InputStream in = Files.newInputStream(file)) {
                if (!digest(in).equals(pin.getValue())) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void extract(ClassLoader loader, Path folder, Map<String, String> pins) throws IOException {
        Path root = folder.getParent();
        Files.createDirectories(root);
        Path lockFile = root.resolve(folder.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.lock()) {
            if (matches(folder, pins)) { // another JVM extracted it while this one waited for the lock
                return;
            }
            Path tmp = Files.createTempDirectory(root, "." + folder.getFileName() + ".tmp-");
            try {
                for (Map.Entry<String, String> pin : pins.entrySet()) {
                    Path file = tmp.resolve(pin.getKey());
                    String got;
                    try (InputStream in = loader.getResourceAsStream(JAR_DIR + pin.getKey());
                            OutputStream out = Files.newOutputStream(file)) {
                        if (in == null) {
                            throw new IOException("the native jar has no " + JAR_DIR + pin.getKey());
                        }
                        got = copy(in, out);
                    }
                    if (!got.equals(pin.getValue())) {
                        throw new IOException(
                                "the native jar's " + pin.getKey() + " has SHA-256 " + got + ", mxport pins "
                                        + pin.getValue() + ": the jar on the classpath is not " + COORDINATES);
                    }
                }
                if (Files.exists(folder)) { // a damaged earlier extraction: move it aside, then remove it
                    Path old = Files.createTempDirectory(root, "." + folder.getFileName() + ".old-");
                    Files.move(folder, old.resolve("x"), StandardCopyOption.ATOMIC_MOVE);
                    deleteTree(old);
                }
                try {
                    Files.move(tmp, folder, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                    throw new IOException("cannot rename " + tmp + " to " + folder + ": " + e);
                }
            } finally {
                deleteTree(tmp);
            }
        }
    }

    private static String copy(InputStream in, OutputStream out) throws IOException {
        MessageDigest md = sha256();
        try (DigestInputStream din = new DigestInputStream(in, md)) {
            din.transferTo(out);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String digest(InputStream in) throws IOException {
        return copy(in, OutputStream.nullOutputStream());
    }

    private static String sha256(String text) {
        return HexFormat.of().formatHex(sha256().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
