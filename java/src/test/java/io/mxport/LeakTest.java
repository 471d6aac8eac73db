package io.mxport;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Creating and closing predictors does not grow the process's resident memory without bound. */
class LeakTest {
    @Test
    void twoHundredSmallPredictors() throws Exception {
        String prefix = TestSupport.vectors().resolve("uint8_image/model").toString();
        NDArray x = Npy.read(TestSupport.vectors().resolve("uint8_image/in_0_0.npy"));
        long[] rss = new long[5];
        for (int round = 0; round < rss.length; round++) {
            for (int i = 0; i < 50; i++) {
                try (Predictor p = new Predictor(prefix)) {
                    p.predictWithNDArray(List.of(x));
                }
            }
            rss[round] = TestSupport.rssKb();
        }
        System.out.printf(
                "[leak] small predictors, VmRSS after 50, 100, 150, 200, 250: %s kB%n", java.util.Arrays.toString(rss));
        // the first 50 settle the allocators and the JIT; then 200 more must not grow the process by 32 MB
        long growth = rss[rss.length - 1] - rss[0];
        assertTrue(growth < 32 * 1024, "VmRSS grew by " + growth + " kB over 200 predictors");
    }

    @Test
    void resNetsInRoundsOfFifteen() throws Exception {
        String prefix = TestSupport.resnet();
        NDArray x = ResNetTest.seededImages(2, 64, 64, 3);
        long[] rss = new long[4];
        for (int round = 0; round < rss.length; round++) {
            for (int i = 0; i < 15; i++) {
                try (Predictor p = new Predictor(prefix)) {
                    p.predictWithNDArray(List.of(x));
                }
            }
            System.gc();
            rss[round] = TestSupport.rssKb();
        }
        System.out.printf(
                "[leak] ResNet-18 predictors (45 MB of weights each), VmRSS after 15, 30, 45, 60: %s kB%n",
                java.util.Arrays.toString(rss));
        // the first round settles the allocators; one leaked copy of the weights per predictor would add 2 GB
        // over the last 45
        long growth = rss[rss.length - 1] - rss[0];
        assertTrue(growth < 300 * 1024, "VmRSS grew by " + growth + " kB over 45 ResNet predictors");
    }
}
