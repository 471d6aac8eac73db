package io.mxport;

/**
 * The description of one input of an old model (one without an mxport signature, spec/FORMAT.md section 7),
 * as MXNet's Java API named it: name, shape, dtype and layout.
 *
 * <pre>{@code
 * List<DataDesc> inputs = List.of(new DataDesc("data", new Shape(-1, 3, 224, 224), DType.FLOAT32, "NCHW"));
 * Predictor old = new Predictor("old/resnet", inputs, List.of(Context.cpu()), 0);  // old/resnet-0000.params
 * }</pre>
 *
 * The same rules as {@link TensorSpec} apply; {@code -1} marks a dynamic dimension. The name is the graph's own
 * input variable's, exactly as its symbol file spells it, whatever it is (a converter's {@code "input.1"} or
 * {@code "0"}); the old model's outputs keep MXNet's names, e.g. {@code "/Softmax_output"}. Nothing is renamed.
 */
public final class DataDesc {
    private final TensorSpec spec;

    /**
     * @throws MxportException INVALID_ARGUMENT when a field is invalid
     */
    public DataDesc(String name, Shape shape, DType dtype, String layout) {
        this.spec = new TensorSpec(name, shape, dtype, layout);
    }

    /** A float32 input of unknown layout. */
    public DataDesc(String name, Shape shape) {
        this(name, shape, DType.FLOAT32, null);
    }

    /** The input's name, a variable of the graph. */
    public String getName() {
        return spec.getName();
    }

    /** The input's shape. */
    public Shape getShape() {
        return spec.getShape();
    }

    /** The input's dtype. */
    public DType getDType() {
        return spec.getDType();
    }

    /** The input's layout, or null. */
    public String getLayout() {
        return spec.getLayout();
    }

    /** This description as a tensor spec. */
    public TensorSpec toTensorSpec() {
        return spec;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DataDesc && ((DataDesc) o).spec.equals(spec);
    }

    @Override
    public int hashCode() {
        return spec.hashCode();
    }

    @Override
    public String toString() {
        return "DataDesc(" + spec + ")";
    }
}
