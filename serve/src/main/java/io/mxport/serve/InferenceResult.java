package io.mxport.serve;

import java.util.List;

/** The answer to an infer call: the outputs asked for, each with the request's parameters for it. */
record InferenceResult(String model, String id, List<Tensor> outputs) {}
