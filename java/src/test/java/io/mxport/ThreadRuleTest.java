package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path")));
        command.add("-XX:TieredStopAtLevel=1"); // a JVM of a few seconds: C1 only, less CPU, the same outputs
        command.addAll(jvmArgs);
        command.add(ThreadRuleProbe.class.getName());
        command.addAll(List.of(args));
        // stderr apart: native code writes there without a newline (libpng's "PNG input buffer is incomplete"),
        // which, merged, could glue itself to the start of a probe line
        Path stderr = Files.createTempFile("thread-rule-probe", ".err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(stderr.toFile());
        for (String v : new String[] {
            "OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "MXNET_CPU_WORKER_NTHREADS"
        }) {
            pb.environment().remove(v);
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = p.waitFor();
        String both = out + Files.readString(stderr, StandardCharsets.UTF_8);
        Files.delete(stderr);
        assertEquals(0, status, both);
        Map<String, String> lines = new HashMap<>();
        for (String line : out.split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0) {
                lines.put(line.substring(0, space), line.substring(space + 1).strip());
            }
        }
        lines.put("ALL", both);
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
        Map<String, String> out =
                probe(Map.of("OMP_NUM_THREADS", "1"), List.of("-Dmxport.threads=2"), "--decide", model());
        assertEquals("ENVIRONMENT", out.get("OUTCOME"), out.get("ALL"));
        assertEquals("-1", out.get("COUNT"), out.get("ALL"));
        assertEquals("false", out.get("SPIN"), out.get("ALL"));
        assertEquals("1", out.get("WORKER"), "OpenMP's own reading of OMP_NUM_THREADS:\n" + out.get("ALL"));
    }

    @Test
    void aWorkerThatRanOperatorsKeepsItsCountWithOneWarning() throws Exception {
        Map<String, String> out =
                probe(Map.of(), List.of(), "--busy-worker", Environment.load().getLibraryPath(), model());
        assertEquals("NOT_APPLIED", out.get("OUTCOME"), out.get("ALL"));
        assertEquals("-1", out.get("COUNT"), out.get("ALL"));
        assertEquals("false", out.get("SPIN"), "libmxnet was loaded before mxport:\n" + out.get("ALL"));
        assertEquals(out.get("BEFORE"), out.get("WORKER"), "unchanged (MXNet's own default):\n" + out.get("ALL"));
        assertTrue(
                Integer.parseInt(out.get("WORKER")) > 0 && !out.get("WORKER").equals(String.valueOf(CPUS + 1)),
                out.get("ALL"));
        String all = out.get("ALL");
        int warnings = all.split("WARNING: mxport: ", -1).length - 1;
        assertEquals(1, warnings, "one warning naming the fix:\n" + all);
        assertTrue(all.contains("OMP_NUM_THREADS=" + (CPUS + 1) + " before the process starts"), all);
    }

    @Test
    void workersAskedForAfterMxnetRanStayOneWithAWarningAndTheModelStillRuns() throws Exception {
        Map<String, String> out = probe(
                Map.of(),
                List.of("-Dmxport.engineWorkers=2"),
                "--busy-worker",
                Environment.load().getLibraryPath(),
                model());
        String all = out.get("ALL");
        assertEquals("1", out.get("WORKERS"), "MXNet loaded with one worker before mxport:\n" + all);
        assertEquals("NOT_APPLIED", out.get("OUTCOME"), all);
        assertTrue(all.contains("mxport.engineWorkers=2 is not applied: libmxnet.so was loaded before mxport"), all);
    }

    /** spec/RUNTIME.md section 6: Environment's setters win over the system properties, read once at the load. */
    @Test
    void environmentSettersBeforeTheFirstLoadWinOverTheProperties() throws Exception {
        Map<String, String> out = probe(
                Map.of(),
                List.of("-Dmxport.threads=1", "-Dmxport.engineWorkers=1"),
                "--environment",
                model(),
                "2",
                "2");
        String all = out.get("ALL");
        assertEquals("false", out.get("BEFORE_LOAD"), all);
        assertEquals("2 2", out.get("REQUESTED"), all);
        assertEquals("APPLIED", out.get("OUTCOME"), all);
        assertEquals("2", out.get("WORKERS"), all);
        assertEquals("1", out.get("COUNT"), "2 threads shared out among 2 workers:\n" + all);
        assertEquals(
                List.of("1", "1"),
                all(out, "EACH").stream().map(w -> w.split(":")[1]).toList(),
                all);
    }

    /**
     * spec/RUNTIME.md rule 4: the rule waits for its own callbacks only. A failure of the user's own MXNet work,
     * not waited for (an image decode that fails on the engine), is not raised by mxport's load: the model loads
     * and gives a fresh process's outputs, and the failure is still there for the user's own wait.
     */
    @Test
    void aUsersUnwaitedFailureBeforeTheFirstLoadIsNotRaisedByTheLoad() throws Exception {
        String e2e = "e2e=" + TestSupport.resnet();
        Map<String, String> out =
                probe(Map.of(), List.of(), "--stale-error", Environment.load().getLibraryPath(), TestSupport.resnet());
        String all = out.get("ALL");
        assertEquals(
                "0", out.get("UNWAITED"), "the failing decode was pushed, its failure left on the engine:\n" + all);
        Map<String, String> fresh = probe(Map.of(), List.of(), "--sequence", e2e);
        assertEquals(
                fresh.get("OUTPUT"), out.get("OUTPUT"), "the outputs of a fresh process:\n" + all + fresh.get("ALL"));
        assertTrue(!out.get("STALE").equals("none"), "the user's own wait still raises the decode's failure:\n" + all);
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

    /** The lines starting with {@code word}, in order (probe() keeps only the last of each). */
    private static List<String> all(Map<String, String> out, String word) {
        List<String> found = new ArrayList<>();
        for (String line : out.get("ALL").split("\n")) {
            if (line.startsWith(word + " ")) {
                found.add(line.substring(word.length() + 1).strip());
            }
        }
        return found;
    }

    @Test
    void twoEngineWorkersEachComputeWithTheirShareAndTwoCallersGetTheOutputOfOne() throws Exception {
        Map<String, String> out = probe(
                Map.of(),
                List.of("-Dmxport.engineWorkers=2", "-Dmxport.threads=2"),
                "--concurrent",
                TestSupport.resnet());
        String text = out.get("ALL");
        assertEquals("APPLIED", out.get("OUTCOME"), text);
        assertEquals("1", out.get("COUNT"), "2 threads shared by 2 workers:\n" + text);
        assertEquals("2", out.get("WORKERS"), text);
        List<String> each = all(out, "EACH");
        assertEquals(2, each.size(), text);
        assertTrue(!each.get(0).split(":")[0].equals(each.get(1).split(":")[0]), "two worker threads:\n" + text);
        each.forEach(w -> assertEquals("1", w.split(":")[1], "every worker computes with 1 thread:\n" + text));
        assertEquals("MXNET_CPU_WORKER_NTHREADS=null", out.get("WORKERENV"), "removed once loaded:\n" + text);
        assertEquals("2", out.get("RUNNERS"), "two calls ran at once:\n" + text);
        assertEquals(
                List.of(out.get("OUTPUT")),
                all(out, "CONCURRENT"),
                "every concurrent call gave the output of a" + " call alone:\n" + text);
        Map<String, String> oneWorker =
                probe(Map.of(), List.of("-Dmxport.threads=1"), "--concurrent", TestSupport.resnet());
        assertEquals(
                out.get("OUTPUT"),
                oneWorker.get("OUTPUT"),
                "and of a process with one worker:\n" + oneWorker.get("ALL"));
        assertEquals("1", oneWorker.get("RUNNERS"), oneWorker.get("ALL"));
    }

    @Test
    void theUsersWorkerVariableWinsAndAnInvalidWorkerCountIsAnInvalidArgument() throws Exception {
        Map<String, String> out = probe(
                Map.of("MXNET_CPU_WORKER_NTHREADS", "2"),
                List.of("-Dmxport.threads=2"),
                "--concurrent",
                TestSupport.resnet());
        assertEquals("2", out.get("WORKERS"), out.get("ALL"));
        assertEquals(
                "MXNET_CPU_WORKER_NTHREADS=2", out.get("WORKERENV"), "the user's variable stays:\n" + out.get("ALL"));
        all(out, "EACH").forEach(w -> assertEquals("1", w.split(":")[1], out.get("ALL")));
        Map<String, String> bad = probe(Map.of(), List.of("-Dmxport.engineWorkers=0"), "--decide", model());
        String first = bad.get("FIRST");
        assertTrue(
                first != null && first.startsWith("INVALID_ARGUMENT ") && first.contains("mxport.engineWorkers=0"),
                bad.get("ALL"));
    }
}
