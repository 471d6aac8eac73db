package io.mxport;

/**
 * Run in a child JVM by ApiTest: fails to find libmxnet.so (the environment hides it), prints the error, then
 * sets the path and loads a model in the same process, proving a failed load does not poison the class.
 */
public final class LibraryProbe {
    private LibraryProbe() {}

    /** The path of the libmxnet.so this process uses (loads it if needed). */
    public static String loadedLibrary() {
        return Environment.load().getLibraryPath();
    }

    public static void main(String[] args) throws java.io.IOException {
        if (args[0].equals("--jpeg-after-load")) { // the JDK's JPEG decoder must still work once MXNet is loaded
            try (Predictor p = new Predictor(args[1])) {
                java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new java.io.File(args[2]));
                System.out.println("JPEG " + image.getWidth() + "x" + image.getHeight());
            }
            return;
        }
        String model = args[0];
        String library = args[1];
        try {
            new Predictor(model).close();
            System.out.println("UNEXPECTED: loaded");
        } catch (MxportException e) {
            System.out.println("FIRST " + e.getCode());
            System.out.println(e.getMessage());
        }
        System.setProperty("mxport.library.path", library);
        try (Predictor p = new Predictor(model)) {
            System.out.println("SECOND loaded " + p.getSignature().getInputNames());
        }
    }
}
