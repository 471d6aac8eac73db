package io.mxport;

import java.util.Optional;

/**
 * One entry of {@link TensorSpec#topK(float[], int)}: a class index, its name when the output carries labels,
 * and its score.
 *
 * <pre>{@code
 * for (ClassScore c : spec.topK(prob, 5)) {
 *     System.out.println(c);   // 282 tiger cat 0.391920
 * }
 * }</pre>
 *
 * Immutable.
 */
public final class ClassScore {
    private final int index;
    private final String label;
    private final float score;

    ClassScore(int index, String label, float score) {
        this.index = index;
        this.label = label;
        this.score = score;
    }

    /** The class index: the position in the output's last dimension. */
    public int getIndex() {
        return index;
    }

    /** The class name, when the output carries labels. */
    public Optional<String> getLabel() {
        return Optional.ofNullable(label);
    }

    /** The score at that index. */
    public float getScore() {
        return score;
    }

    /** E.g. {@code 282 tiger cat 0.391920}; without labels {@code 282 0.391920}. */
    @Override
    public String toString() {
        return index + (label == null ? "" : " " + label) + String.format(java.util.Locale.ROOT, " %.6f", score);
    }
}
