package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** One version, in the root VERSION file: the Maven build must carry the same. */
class VersionTest {
    @Test
    void pomVersionIsTheVersionFile() throws Exception {
        Properties p = new Properties();
        try (InputStream in = VersionTest.class.getResourceAsStream("/mxport-test.properties")) {
            p.load(in);
        }
        String file = Files.readString(TestSupport.root().resolve("VERSION")).strip();
        assertEquals(file, p.getProperty("version"), "pom.xml version differs from VERSION: update both pom.xml files");
    }
}
