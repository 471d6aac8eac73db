package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The thread rule of spec/RUNTIME.md, each case in a child JVM of its own (the rule is decided once per process):
 * the environment, the count, a worker that already ran operators, and two models loaded one after the other.
 */
class ThreadRuleTest {
    private static final int CPUS = Runtime.getRuntime().availableProcessors();

    /** Runs ThreadRuleProbe; returns its output lines by their first word (the last line of each word wins). */
    private static Map<String, String> probe(Map<String, String> env, List<String> jvmArgs, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path")));
        command.addAll(jvmArgs);
        command.add(ThreadRuleProbe.class.getName());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        for (String v : new String[] {"OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY"}) {
            pb.environment().remove(v);
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Map<String, String> lines = new HashMap<>();
        for (String line : out.split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0) {
                lines.put(line.substring(0, space), line.substring(space + 1).strip());
            }
        }
        lines.put("ALL", out);
        return lines;
    }

    private static String model() {
        return TestSupport.vectors().resolve("postprocess").resolve("model").toString();
    }

    @Test
    void aFreshWorkerGetsEveryCoreAndTheSpinCountIsGoneAfterLoading() throws Exception {
        Map<String, String> out = probe(Map.of(), List.of(), "--decide", model());
        assertEquals("APPLIED", out.get("OUTCOME"), out.get("ALL"));
        assertEquals(String.valueOf(CPUS), out.get("COUNT"), out.get("ALL"));
        assertEquals(String.valueOf(CPUS), out.get("WORKER"), out.get("ALL"));
        assertEquals("true", out.get("SPIN"), out.get("ALL"));
        assertEquals("GOMP_SPINCOUNT=null", out.get("ENV"), "removed once loaded:\n" + out.get("ALL"));
    }

    @Test
    void anExplicitCountIsAppliedToTheWorker() throws Exception {
        Map<String, String> out = probe(Map.of(), List.of("-Dmxport.threads=1"), "--decide", model());
        assertEquals("APPLIED", out.get("OUTCOME"), out.get("ALL"));
        assertEquals("1", out.get("COUNT"), out.get("ALL"));
        assertEquals("1", out.get("WORKER"), "the worker computes with 1 thread:\n" + out.get("ALL"));
    }

    @Test
    void anInvalidCountIsAnInvalidArgumentAndARetryWorks() throws Exception {
        Map<String, String> out = probe(Map.of(), List.of("-Dmxport.threads=two"), "--decide", model());
        String first = out.get("FIRST");
        assertTrue(first != null && first.startsWith("INVALID_ARGUMENT "), out.get("ALL"));
        assertTrue(first.contains("mxport.threads=two") && first.contains("positive integer"), first);
        assertEquals("LOADED", out.get("RETRY"), out.get("ALL"));
        assertEquals("1", out.get("WORKER"), out.get("ALL"));
    }

    @Test
    void theUsersEnvironmentWinsAndNothingChanges() throws Exception {
        Map<String, String> out = probe(Map.of("OMP_NUM_THREADS", "1"), List.of("-Dmxport.threads=2"), "--decide", model());
        assertEquals("ENVIRONMENT", out.get("OUTCOME"), out.get("ALL"));
        assertEquals("-1", out.get("COUNT"), out.get("ALL"));
        assertEquals("false", out.get("SPIN"), out.get("ALL"));
        assertEquals("1", out.get("WORKER"), "OpenMP's own reading of OMP_NUM_THREADS:\n" + out.get("ALL"));
    }

    @Test
    void aWorkerThatRanOperatorsKeepsItsCountWithOneWarning() throws Exception {
        Map<String, String> out = probe(Map.of(), List.of(), "--busy-worker", Mxnet.path(), model());
        assertEquals("NOT_APPLIED", out.get("OUTCOME"), out.get("ALL"));
        assertEquals("-1", out.get("COUNT"), out.get("ALL"));
        assertEquals("false", out.get("SPIN"), "libmxnet was loaded before mxport:\n" + out.get("ALL"));
        assertEquals(out.get("BEFORE"), out.get("WORKER"), "unchanged (MXNet's own default):\n" + out.get("ALL"));
        assertTrue(Integer.parseInt(out.get("WORKER")) > 0 && !out.get("WORKER").equals(String.valueOf(CPUS + 1)), out.get("ALL"));
        String all = out.get("ALL");
        int warnings = all.split("WARNING: mxport: ", -1).length - 1;
        assertEquals(1, warnings, "one warning naming the fix:\n" + all);
        assertTrue(all.contains("OMP_NUM_THREADS=" + (CPUS + 1) + " before the process starts"), all);
    }

    @Test
    void aModelLoadedAfterAnotherRanGivesTheOutputsOfAFreshProcess() throws Exception {
        String a = "e2e=" + TestSupport.resnet();
        String b = "old=" + TestSupport.models().resolve("resnet18-network");
        Map<String, String> both = probe(Map.of(), List.of(), "--sequence", a, b);
        String all = both.get("ALL");
        Map<String, String> onlyA = probe(Map.of(), List.of(), "--sequence", a);
        Map<String, String> onlyB = probe(Map.of(), List.of(), "--sequence", b);
        assertTrue(all.contains("OUTPUT " + a + " " + onlyA.get("OUTPUT").split(" ")[1]), all + onlyA.get("ALL"));
        assertTrue(all.contains("OUTPUT " + b + " " + onlyB.get("OUTPUT").split(" ")[1]), all + onlyB.get("ALL"));
    }
}
