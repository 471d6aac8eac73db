package io.mxport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to fix a failure, as data that each API spells in its own words: Java
 * ({@code new Predictor(prefix, inputs, contexts, 7)}), Scala ({@code epoch = Some(7)}), Python ({@code epoch=7}),
 * the {@code mxport} command ({@code --epoch 7}). spec/MISTAKES.md, "The fix", lists the kinds.
 *
 * <pre>{@code
 * try (Predictor p = new Predictor("old/mlp", List.of(new DataDesc("data", new Shape(-1, 7))), List.of(Context.cpu()))) {
 *     ...
 * } catch (MxportException e) {
 *     Fix fix = e.getFix().orElseThrow();     // kind ARGUMENT, arguments {epoch=5}
 *     System.out.println(fix.render(Fix.JAVA)); // pass epoch 5, new Predictor(prefix, inputs, contexts, 5) ...
 * }
 * }</pre>
 *
 * Argument names are the spec's ({@code epoch}, {@code inputs}, {@code load_transforms}); a {@link Spelling} says
 * them in one API's words. {@code before} and {@code after} are words around the fix, the same in every API.
 */
public final class Fix {
    /** What the fix asks for. */
    public enum Kind {
        /** Pass one argument ({@link #getArguments()} holds its name and value). */
        ARGUMENT,
        /** Leave out the arguments named in {@link #getArguments()} (with the values that were given). */
        DROP,
        /** Describe an old model's inputs ({@link #getInputs()}) and its epoch ({@code epoch} in the arguments). */
        DESCRIBE_INPUTS,
        /** Words that read the same in every API ({@link #getBefore()}), the last resort. */
        TEXT
    }

    /** One input of an old model as the fix describes it; the shape is empty when the graph does not say it. */
    public static final class Input {
        private final String name;
        private final Shape shape;
        private final DType dtype;

        public Input(String name, Shape shape, DType dtype) {
            this.name = Objects.requireNonNull(name, "name");
            this.shape = shape;
            this.dtype = Objects.requireNonNull(dtype, "dtype");
        }

        public String getName() {
            return name;
        }

        /** The shape with -1 for the batch, or empty when unknown (the user writes it). */
        public Optional<Shape> getShape() {
            return Optional.ofNullable(shape);
        }

        public DType getDType() {
            return dtype;
        }
    }

    /** One API's words for the kinds of fix; {@link #render} adds the words before and after. */
    public interface Spelling {
        /** Pass argument {@code name} (the spec's name) with {@code value}. */
        String argument(String name, Object value);

        /** Leave out these arguments: each name to the value given (null when unknown). */
        String drop(Map<String, Object> arguments);

        /** Describe an old model's inputs, and its epoch when not null. */
        String describeInputs(List<Input> inputs, Integer epoch);
    }

    private final Kind kind;
    private final Map<String, Object> arguments;
    private final List<Input> inputs;
    private final String before;
    private final String after;

    private Fix(Kind kind, Map<String, Object> arguments, List<Input> inputs, String before, String after) {
        this.kind = kind;
        this.arguments = Collections.unmodifiableMap(new LinkedHashMap<>(arguments));
        this.inputs = List.copyOf(inputs);
        this.before = before == null ? "" : before;
        this.after = after == null ? "" : after;
    }

    /** Words that read the same in every API. */
    public static Fix text(String words) {
        return new Fix(Kind.TEXT, Map.of(), List.of(), Objects.requireNonNull(words, "words"), "");
    }

    /** Pass {@code name} = {@code value}, with words before and after (the same in every API). */
    public static Fix argument(String name, Object value, String before, String after) {
        Map<String, Object> one = new LinkedHashMap<>();
        one.put(Objects.requireNonNull(name, "name"), value);
        return new Fix(Kind.ARGUMENT, one, List.of(), before, after);
    }

    /** Leave out the arguments of {@code given} (name to the value given), with words after. */
    public static Fix drop(Map<String, Object> given, String after) {
        return new Fix(Kind.DROP, given, List.of(), "", after);
    }

    /** Describe an old model's inputs, and its epoch (null when its params file is not numbered). */
    public static Fix describeInputs(List<Input> inputs, Integer epoch) {
        Map<String, Object> args = new LinkedHashMap<>();
        if (epoch != null) {
            args.put("epoch", epoch);
        }
        return new Fix(Kind.DESCRIBE_INPUTS, args, inputs, "", "");
    }

    public Kind getKind() {
        return kind;
    }

    /** The arguments the fix names, in order: the spec's names to their values. */
    public Map<String, Object> getArguments() {
        return arguments;
    }

    /** For {@link Kind#DESCRIBE_INPUTS}: the inputs to describe. */
    public List<Input> getInputs() {
        return inputs;
    }

    public String getBefore() {
        return before;
    }

    public String getAfter() {
        return after;
    }

    /** The fix in the words of {@code spelling}. */
    public String render(Spelling spelling) {
        String middle;
        switch (kind) {
            case ARGUMENT:
                Map.Entry<String, Object> a = arguments.entrySet().iterator().next();
                middle = spelling.argument(a.getKey(), a.getValue());
                break;
            case DROP:
                middle = spelling.drop(arguments);
                break;
            case DESCRIBE_INPUTS:
                middle = spelling.describeInputs(inputs, (Integer) arguments.get("epoch"));
                break;
            default:
                middle = "";
        }
        return before + middle + after;
    }

    @Override
    public String toString() {
        return "Fix(" + kind + ", " + arguments + ", " + before + "|" + after + ")";
    }

    /** The Java API's words: the constructor arguments of {@link Predictor}. */
    public static final Spelling JAVA = new Spelling() {
        @Override
        public String argument(String name, Object value) {
            if (name.equals("epoch")) {
                return "pass epoch " + value + ", new Predictor(prefix, inputs, contexts, " + value + ")";
            }
            return (name.equals("load_transforms") ? "load it with " : "pass ") + camelCase(name) + "=" + value;
        }

        @Override
        public String drop(Map<String, Object> arguments) {
            if (arguments.containsKey("inputs")) {
                return "use new Predictor(prefix, contexts, loadTransforms) without input descriptions or epoch";
            }
            List<String> names = new ArrayList<>();
            for (String name : arguments.keySet()) {
                names.add("the " + camelCase(name));
            }
            return "drop " + String.join(" and ", names);
        }

        @Override
        public String describeInputs(List<Input> inputs, Integer epoch) {
            List<String> descs = new ArrayList<>();
            for (Input in : inputs) {
                descs.add("new DataDesc(\"" + in.getName() + "\", new Shape(" + dims(in) + "), DType."
                        + in.getDType().name() + ", null)");
            }
            if (descs.isEmpty()) {
                descs.add("new DataDesc(\"data\", new Shape(-1, ...), DType.FLOAT32, null)");
            }
            return "load it with new Predictor(prefix, List.of(" + String.join(", ", descs)
                    + "), List.of(Context.cpu())"
                    + (epoch == null ? "" : ", " + epoch) + ")" + unknownShapes(inputs)
                    + ", or re-export it with mxport.export";
        }
    };

    /** An input's dimensions as a constructor's arguments: {@code -1, 5}, or {@code -1, ...} when unknown. */
    public static String dims(Input in) {
        return in.getShape()
                .map(s -> s.toString().replaceAll("[\\[\\]]", "").replace(",", ", "))
                .orElse("-1, ...");
    }

    /** The note a description of inputs ends with when a shape is unknown, empty otherwise. */
    public static String unknownShapes(List<Input> inputs) {
        boolean unknown =
                inputs.isEmpty() || inputs.stream().anyMatch(i -> i.getShape().isEmpty());
        return unknown ? " (write each input's shape in place of ...)" : "";
    }

    private static String camelCase(String name) {
        StringBuilder out = new StringBuilder();
        boolean up = false;
        for (char c : name.toCharArray()) {
            if (c == '_') {
                up = true;
            } else {
                out.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return out.toString();
    }
}
