package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native jar on the test classpath (io.mxport:mxport's runtime dependency), extracted for real into a
 * temporary cache root: 185 MB written per extraction, so the cases share one root, in order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BundledLibraryTest {
    @TempDir
    static Path root;

    @Test
    @Order(1)
    void extractsEveryPinnedFileIntoAVersionedFolder() throws Exception {
        List<String> tried = new ArrayList<>();
        String lib = BundledLibrary.find(root, tried);
        assertNotNull(lib, "tried: " + tried);
        Path folder = Paths.get(lib).getParent();
        assertEquals(root, folder.getParent());
        assertTrue(folder.getFileName().toString().startsWith("1.9.1-"), folder.toString());
        Map<String, String> pins = BundledLibrary.pins();
        assertEquals(6, pins.size(), "libmxnet, openblas, gfortran, quadmath, gomp and mxnet.properties are pinned");
        for (Map.Entry<String, String> pin : pins.entrySet()) {
            assertEquals(pin.getValue(), sha256(folder.resolve(pin.getKey())), pin.getKey());
        }
        try (var left = Files.list(root)) { // the folder and its lock file; no temporary folder stays behind
            assertEquals(
                    List.of(folder.getFileName().toString(), folder.getFileName() + ".lock"),
                    left.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    @Order(2)
    void anotherJvmReusesTheExtractedFiles() throws Exception {
        Path lib = Paths.get(BundledLibrary.find(root, new ArrayList<>()));
        Object before = Files.readAttributes(lib, BasicFileAttributes.class).fileKey();
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(java, "-cp", cp, "io.mxport.BundledLibraryProbe", root.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertTrue(out.contains("PATH " + lib), out);
        assertEquals(
                before, Files.readAttributes(lib, BasicFileAttributes.class).fileKey(), "the file was rewritten");
    }

    @Test
    @Order(3)
    void aDamagedCacheFileIsDetectedAndExtractedAgain() throws Exception {
        Path lib = Paths.get(BundledLibrary.find(root, new ArrayList<>()));
        Path blas = lib.resolveSibling("libopenblas.so.0");
        String pinned = BundledLibrary.pins().get("libopenblas.so.0");
        try (RandomAccessFile f = new RandomAccessFile(blas.toFile(), "rw")) { // same size, one byte flipped
            f.seek(4096);
            int b = f.read();
            f.seek(4096);
            f.write(b ^ 0xff);
        }
        assertNotEquals(pinned, sha256(blas));
        Object damaged = Files.readAttributes(blas, BasicFileAttributes.class).fileKey();

        assertEquals(lib.toString(), BundledLibrary.find(root, new ArrayList<>()));
        assertEquals(pinned, sha256(blas));
        assertNotEquals(
                damaged, Files.readAttributes(blas, BasicFileAttributes.class).fileKey());
    }

    @Test
    @Order(4)
    void aCacheRootThatCannotBeWrittenGivesNullAndNamesTheSetting() {
        // /proc refuses new folders even to root, which a chmod'ed folder would not
        List<String> tried = new ArrayList<>();
        assertNull(BundledLibrary.find(Paths.get("/proc/mxport-native-cache"), tried));
        String reason = tried.get(tried.size() - 1);
        assertTrue(
                reason.contains(BundledLibrary.COORDINATES)
                        && reason.contains("/proc/mxport-native-cache")
                        && reason.contains("-Dmxport.native.cache")
                        && reason.contains("MXPORT_NATIVE_CACHE"),
                reason);
    }

    @Test
    @Order(5)
    void twoJvmsStartingAtOnceShareOneExtraction() throws Exception {
        Path fresh = root.resolve("fresh");
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<Process> jvms = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            jvms.add(new ProcessBuilder(java, "-cp", cp, "io.mxport.BundledLibraryProbe", fresh.toString())
                    .redirectErrorStream(true)
                    .start());
        }
        List<String> outs = new ArrayList<>();
        for (Process p : jvms) {
            outs.add(new String(p.getInputStream().readAllBytes()).strip());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        }
        assertEquals(outs.get(0), outs.get(1));
        Path lib = Paths.get(outs.get(0).replaceFirst("^PATH ", ""));
        assertEquals(BundledLibrary.pins().get(LibraryLocator.LIB), sha256(lib), outs.toString());
        try (var left = Files.list(fresh)) {
            assertEquals(2, left.count(), "one folder and its lock file");
        }
    }

    private static String sha256(Path file) throws IOException, java.security.NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
