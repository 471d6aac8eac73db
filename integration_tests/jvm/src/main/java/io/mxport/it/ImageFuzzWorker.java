package io.mxport.it;

import io.mxport.Images;
import io.mxport.MxportException;
import io.mxport.NDArray;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;

/**
 * Decodes cases of the image fuzz (integration_tests/image_fuzz.py) with {@code Images.read}, one JSON line per case
 * on stdout, flushed, so that the runner counts a crash as the case after the last line.
 *
 * <pre>{@code
 * java -cp ... io.mxport.it.ImageFuzzWorker CASE_DIR FIRST END MAX_PIXELS
 * }</pre>
 */
public final class ImageFuzzWorker {
    private ImageFuzzWorker() {}

    // as integration_tests/image_fuzz.py's python_worker: before each decode, images of the sizes the case's header
    // declares, every byte one poison value, are decoded and freed (what an earlier request leaves in a server):
    // POISONS[0] before the first decode, POISONS[1] before the second. An output holding a run of POISON_RUN bytes
    // of its poison value that the other output lacks holds memory the decoder never wrote.
    private static final int[] POISONS = {0xA5, 0x5A};
    private static final int POISON_RUN = 48;

    private static void poison(Path dir, String sizes, int value) throws java.io.IOException {
        for (String size : sizes.trim().split(" ")) {
            if (!size.isEmpty()) {
                String name = size + "-" + String.format("%02x", value) + ".png";
                Images.decode(
                        java.nio.file.Files.readAllBytes(dir.resolve("poison").resolve(name)));
            }
        }
    }

    private static boolean hasRun(byte[] pixels, int value) {
        int run = 0;
        for (byte b : pixels) {
            run = (b & 0xFF) == value ? run + 1 : 0;
            if (run >= POISON_RUN) {
                return true;
            }
        }
        return false;
    }

    private static boolean stale(byte[] first, byte[] second) {
        return (hasRun(first, POISONS[0]) && !hasRun(second, POISONS[0]))
                || (hasRun(second, POISONS[1]) && !hasRun(first, POISONS[1]));
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int first = Integer.parseInt(args[1]);
        int end = Integer.parseInt(args[2]);
        long maxPixels = Long.parseLong(args[3]);
        List<String> poisons = java.nio.file.Files.readAllLines(dir.resolve("poison.txt"));
        PrintStream out =
                new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err); // only the results on stdout
        for (int i = first; i < end; i++) {
            Path file = dir.resolve(String.format("%05d", i));
            String line;
            try {
                poison(dir, poisons.get(i), POISONS[0]);
                NDArray pixels = Images.read(file, maxPixels);
                byte[] bytes = pixels.toByteArray();
                poison(dir, poisons.get(i), POISONS[1]);
                byte[] second = Images.read(file, maxPixels).toByteArray();
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
                byte[] again = MessageDigest.getInstance("SHA-256").digest(second);
                StringBuilder hex = new StringBuilder();
                for (byte b : digest) {
                    hex.append(String.format("%02x", b));
                }
                line = "{\"case\": " + i + ", \"shape\": "
                        + java.util.Arrays.toString(pixels.getShape().toArray()) + ", \"sha256\": \"" + hex
                        + "\", \"stable\": " + java.util.Arrays.equals(digest, again) + ", \"poisoned\": "
                        + stale(bytes, second) + "}";
            } catch (MxportException e) {
                line = "{\"case\": " + i + ", \"code\": \"" + e.getCode() + "\", \"names_file\": "
                        + e.getMessage().contains(file.toString()) + "}";
            } catch (Throwable t) { // a Java failure of another kind is a finding too
                line = "{\"case\": " + i + ", \"code\": \"" + t.getClass().getName() + "\", \"names_file\": false}";
            }
            out.println(line);
        }
        out.println("{\"peak_rss_mb\": " + peakRssMb() + "}");
    }

    private static long peakRssMb() throws java.io.IOException {
        for (String l : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }
}
