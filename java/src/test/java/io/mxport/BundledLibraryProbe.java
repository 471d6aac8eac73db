package io.mxport;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Run in a child JVM by BundledLibraryTest: prints the libmxnet.so that BundledLibrary gives for a cache root. */
public final class BundledLibraryProbe {
    private BundledLibraryProbe() {}

    public static void main(String[] args) {
        List<String> tried = new ArrayList<>();
        System.out.println("PATH " + BundledLibrary.find(Paths.get(args[0]), tried));
        tried.forEach(t -> System.out.println("TRIED " + t));
    }
}
