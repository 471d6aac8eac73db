package io.mxport.serve;

import java.util.List;
import java.util.Map;

/** An infer call as either protocol gives it. */
final class InferenceRequest {
    /** An output the client asked for by name, with its parameters ({@code binary_data}, {@code classification}). */
    record RequestedOutput(String name, Map<String, Object> parameters) {}

    final String model;
    final String id;
    final Map<String, Object> parameters;
    final List<Tensor> inputs;
    /** Empty: every output. */
    final List<RequestedOutput> outputs;

    InferenceRequest(
            String model,
            String id,
            Map<String, Object> parameters,
            List<Tensor> inputs,
            List<RequestedOutput> outputs) {
        this.model = model;
        this.id = id == null ? "" : id;
        this.parameters = parameters == null ? Map.of() : parameters;
        this.inputs = inputs;
        this.outputs = outputs == null ? List.of() : outputs;
    }
}
