package io.mxport;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs an mxport model (or an old MXNet model) on MXNet 1.9.1's {@code libmxnet.so}.
 *
 * <pre>{@code
 * try (Predictor predictor = new Predictor("out/my_model")) {             // cpu, transforms included
 *     System.out.println(predictor.getSignature());
 *     NDArray pixels = Images.toNHWC(ImageIO.read(new File("cat.jpg")));   // uint8 [1,H,W,3], RGB
 *     float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
 * }
 * }</pre>
 *
 * <p>A model prefix {@code out/my_model} means the files {@code out/my_model-symbol.json} and
 * {@code out/my_model.params} (spec/FORMAT.md). Loading checks both files before MXNet sees them: the graph and
 * its signature, the connectors, and the params file's size and SHA-256; MXNet then gets exactly the bytes that
 * were checked. With {@code loadTransforms=false} the graph is cut at its connectors (spec section 5) and the
 * predictor runs, and exposes the signature of, the network alone.
 *
 * <p><b>Calls.</b> Every call checks its inputs against {@link #getSignature()} before any native call
 * (INPUT_COUNT, UNKNOWN_INPUT, DTYPE_MISMATCH, SHAPE_MISMATCH). Dimension 0 is the batch: a single sample is a
 * batch of one. Any batch size (and any size of another dynamic dimension) works without rebuilding: the graph
 * runs through MXNet's CachedOp, as Gluon does, which gives outputs bit-identical to Python's
 * {@code mxport.load}. The predictor keeps one CachedOp, with native input arrays, for each of the last four
 * input shapes it saw, so alternating batch sizes do not re-plan memory on every call, and a call copies its
 * inputs once, straight into those arrays.
 *
 * <p><b>Threads.</b> One Predictor may be called from several threads at once. It computes as many calls at
 * once as MXNet has CPU engine workers ({@link Environment.Applied#getEngineWorkers()}: one unless
 * {@link Environment#setEngineWorkers} asked for more before the first Predictor loaded), each with a CachedOp and input
 * arrays of its own; further calls wait for one to finish. A CachedOp created with static memory reuses one set
 * of buffers, so one call at a time may use it. Several Predictors may be called at the same time with no lock
 * between them, but MXNet's engine still runs all operators on its workers, so with one worker (the default)
 * more calling threads add safety, not speed.
 *
 * <p><b>MXNet's threads</b> (spec/RUNTIME.md). The first Predictor of the JVM to load {@code libmxnet.so}
 * decides once: with env {@code OMP_NUM_THREADS} or {@code MXNET_OMP_MAX_THREADS} set, mxport changes nothing;
 * otherwise MXNet's CPU engine worker computes with the count of {@link Environment#setThreads} (system property
 * {@code mxport.threads}) or every core the JVM may run on (with several workers, each gets its
 * share), set on that worker only if it has run no operator yet (else mxport warns and changes nothing: changing
 * it corrupts memory), and a libmxnet that mxport is first to load gets libgomp's {@code GOMP_SPINCOUNT=3000}.
 * No count changes later; {@link Environment#applied()} says what was decided.
 *
 * <p><b>Resources.</b> A Predictor holds native memory until {@link #close()}, which throws nothing and may be
 * called twice. Every other method of a closed Predictor throws {@link IllegalStateException}. The weights
 * (about the params file's size) are shared by all open Predictors of the same params file (same SHA-256,
 * e.g. one with and one without transforms), as Gluon blocks sharing parameters are, and freed with the last.
 *
 * <p>Failures throw {@link MxportException} with a code of spec section 8; MXNet's own failures have code
 * NATIVE_ERROR and carry {@code MXGetLastError()}.
 */
public final class Predictor implements AutoCloseable {
    /** The model on MXNet; null on another engine. */
    private final LoadedModel model;
    /** The model on another engine (spec section 13); null on MXNet. */
    private final EngineModelFile engineFile;

    private int engineCalls; // calls running on engineFile now (guarded by lock)
    /** Runners no call holds now; at most one per CPU engine worker exists (guarded by lock). */
    private final ArrayDeque<CachedOpRunner> idle = new ArrayDeque<>();

    private final int maxRunners;
    private int runners; // guarded by lock
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition returned = lock.newCondition();
    private volatile boolean closed;

    /** Loads the mxport model at {@code prefix} on the CPU, transforms included. */
    public Predictor(String prefix) {
        this(prefix, List.of(Context.cpu()), true);
    }

    /**
     * Loads the mxport model at {@code prefix}.
     *
     * @param prefix the model: {@code <prefix>-symbol.json} and {@code <prefix>.params}
     * @param contexts where to run: one context, {@code List.of(Context.cpu())}
     * @param loadTransforms true for the whole model, false for the network alone (cut at the connectors)
     * @throws MxportException with the code of what is wrong (MODEL_NOT_FOUND, DIGEST_MISMATCH, ...)
     */
    public Predictor(String prefix, List<Context> contexts, boolean loadTransforms) {
        this(checkContexts(contexts), ModelFiles.open(prefix, null, null), loadTransforms);
    }

    /**
     * Loads an old model (no mxport signature; spec section 7) saved at {@code epoch}: the files
     * {@code <prefix>-symbol.json} and {@code <prefix>-NNNN.params}, as MXNet's Java API did.
     *
     * @param inputs a description of every input of the graph
     * @param epoch the NNNN of the params file name, at least 0
     */
    public Predictor(String prefix, List<DataDesc> inputs, List<Context> contexts, int epoch) {
        this(
                checkContexts(contexts),
                ModelFiles.open(prefix, ModelFiles.checkDescriptions(inputs), checkEpoch(epoch)),
                true);
    }

    /** Loads an old model whose params file is {@code <prefix>.params} (no epoch in the name). */
    public Predictor(String prefix, List<DataDesc> inputs, List<Context> contexts) {
        this(checkContexts(contexts), ModelFiles.open(prefix, ModelFiles.checkDescriptions(inputs), null), true);
    }

    /**
     * Loads a model on the chosen engine. {@link Engine#MXNET} is {@link #Predictor(String, List, boolean)} on the
     * CPU. {@link Engine#ONNXRUNTIME} runs the {@code .onnx} file that {@code mxport export-onnx} wrote (with
     * {@code --no-transforms} for {@code loadTransforms=false}) and needs the artifact
     * {@code io.mxport:mxport-onnxruntime} on the classpath, but neither {@code libmxnet.so} nor Python:
     *
     * <pre>{@code
     * try (Predictor p = new Predictor("out/my_model.onnx", Engine.ONNXRUNTIME, true)) {
     *     float[] prob = p.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
     * }
     * }</pre>
     *
     * The signature comes from the file's {@code mxport_signature}, and calls are checked as on MXNet, with the
     * same codes; outputs agree with MXNet's within {@code spec/onnx_tolerances.json}.
     *
     * @param path an mxport prefix for MXNET; the {@code .onnx} file for ONNXRUNTIME
     * @throws MxportException INVALID_ARGUMENT when the engine's artifact is missing (the message names it) or
     *     the file holds the other part; NO_SIGNATURE, BAD_SIGNATURE, MODEL_NOT_FOUND as for a model on MXNet
     */
    public Predictor(String path, Engine engine, boolean loadTransforms) {
        if (engine == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT, "engine is null: pass Engine.MXNET or Engine.ONNXRUNTIME");
        }
        if (engine == Engine.MXNET) {
            this.model = new LoadedModel(ModelFiles.open(path, null, null), loadTransforms);
            this.engineFile = null;
            this.maxRunners = EngineWorkers.load().workers;
        } else {
            this.model = null;
            this.engineFile = EngineModelFile.open(path, engine, loadTransforms);
            Images.engineWithoutMxnet = true; // Images.read decodes without libmxnet unless it is loaded
            this.maxRunners = 0;
        }
    }

    private static Integer checkEpoch(int epoch) {
        if (epoch < 0 || epoch > 9999) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "epoch " + epoch + " must be 0..9999 (the NNNN of" + " <prefix>-NNNN.params)");
        }
        return epoch;
    }

    private static Context checkContexts(List<Context> contexts) {
        if (contexts == null || contexts.size() != 1 || contexts.get(0) == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "contexts must hold exactly one context, e.g." + " List.of(Context.cpu()), got " + contexts);
        }
        if (!contexts.get(0).equals(Context.cpu())) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "context " + contexts.get(0) + " is not available: the"
                            + " mxnet==1.9.1 wheel is CPU-only; use Context.cpu()");
        }
        return contexts.get(0);
    }

    private Predictor(Context context, ModelFiles files, boolean loadTransforms) {
        this.model = new LoadedModel(files, loadTransforms);
        this.engineFile = null;
        this.maxRunners = EngineWorkers.load().workers;
    }

    // ---- the public API ----

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this Predictor of " + where() + " is closed");
        }
    }

    /**
     * What this predictor takes and gives: the whole model's signature (its {@link Signature#getNetwork()} is the
     * network alone's), or with {@code loadTransforms=false} the network's. For an old model, the input
     * descriptions and the outputs as MXNet names them, shapes inferred at load time.
     */
    public Signature getSignature() {
        ensureOpen();
        return signature();
    }

    private Signature signature() {
        return model != null ? model.signature : engineFile.signature;
    }

    private String where() {
        return model != null ? model.where : engineFile.where;
    }

    /** The engine this predictor runs on. */
    public Engine getEngine() {
        return model != null ? Engine.MXNET : Engine.ONNXRUNTIME;
    }

    /**
     * Runs the model on inputs given in signature order.
     *
     * @return the outputs in signature order, each with a batch dimension equal to the inputs'
     * @throws MxportException INPUT_COUNT, DTYPE_MISMATCH or SHAPE_MISMATCH (checked before any native call)
     */
    public List<NDArray> predictWithNDArray(List<NDArray> inputs) {
        ensureOpen();
        Inputs.check(signature(), inputs);
        return engineFile != null ? runOnEngine(inputs) : run(inputs);
    }

    /**
     * Runs the model on inputs given by name.
     *
     * @return output name to output, in signature order
     * @throws MxportException UNKNOWN_INPUT for a name the model does not have, INPUT_COUNT for a missing one,
     *     INVALID_ARGUMENT when an old model's output names repeat (spec section 7: use the list form)
     */
    public Map<String, NDArray> predictWithNDArray(Map<String, NDArray> inputs) {
        ensureOpen();
        List<String> names = signature().getOutputNames();
        if (new java.util.HashSet<>(names).size() != names.size()) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "the model's outputs " + names + " repeat a name, so"
                            + " they cannot come back by name: call predictWithNDArray(List) and take them by position");
        }
        List<NDArray> out = predictWithNDArray(Inputs.ordered(signature(), inputs));
        Map<String, NDArray> named = new LinkedHashMap<>();
        for (int i = 0; i < out.size(); i++) {
            named.put(names.get(i), out.get(i));
        }
        return named;
    }

    /**
     * Runs the model on flat inputs, as MXNet's Java API did: one array per input in signature order, each
     * holding a whole batch in C order. The batch size is the array's length divided by the product of the
     * input's other dimensions, which must all be fixed.
     *
     * <p>Dtypes: a float32 input takes the values as they are; an input of another dtype takes them only when
     * every value converts exactly (e.g. 0..255 integers for uint8, as image pixels are), and otherwise fails
     * with DTYPE_MISMATCH rather than rounding silently. float16 inputs need {@link #predictWithNDArray}.
     *
     * @return one flat array per output, in signature order, converted to float
     */
    public float[][] predict(float[][] inputs) {
        ensureOpen();
        List<NDArray> out = predictWithNDArray(Inputs.fromFloats(signature(), inputs));
        float[][] flat = new float[out.size()][];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = out.get(i).toFloatArray();
        }
        return flat;
    }

    private List<NDArray> run(List<NDArray> inputs) {
        CachedOpRunner runner = take();
        try {
            return runner.run(inputs);
        } finally {
            lock.lock();
            try {
                idle.push(runner);
                returned.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Another engine runs calls at once itself; close() waits for the running ones. */
    private List<NDArray> runOnEngine(List<NDArray> inputs) {
        lock.lock();
        try {
            ensureOpen();
            engineCalls++;
        } finally {
            lock.unlock();
        }
        try {
            return engineFile.run(inputs);
        } finally {
            lock.lock();
            try {
                engineCalls--;
                returned.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** An idle runner, a new one while there are fewer than the engine's workers, else waits for one. */
    private CachedOpRunner take() {
        lock.lock();
        try {
            while (true) {
                ensureOpen();
                if (!idle.isEmpty()) {
                    return idle.pop();
                }
                if (runners < maxRunners) {
                    runners++;
                    return new CachedOpRunner(model);
                }
                returned.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees the native memory, after the calls running now have returned. Throws nothing; calling it again does
     * nothing.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            returned.signalAll(); // calls waiting for a runner fail now
            if (engineFile != null) {
                while (engineCalls > 0) {
                    returned.awaitUninterruptibly();
                }
                engineFile.close();
                return;
            }
            while (idle.size() < runners) {
                returned.awaitUninterruptibly();
            }
            idle.forEach(CachedOpRunner::close);
            idle.clear();
            model.close();
        } finally {
            lock.unlock();
        }
    }

    /** For tests: how many runners (CachedOp sets) this predictor has made, at most one per engine worker. */
    int runnerCount() {
        lock.lock();
        try {
            return runners;
        } finally {
            lock.unlock();
        }
    }

    SharedWeights weights() {
        return model.weights;
    }

    @Override
    public String toString() {
        return "Predictor(" + where() + (closed ? ", closed" : "") + ")";
    }
}
