/**
 * mxport for Java: loads models in the mxport format (spec/FORMAT.md: an MXNet 1.9.1 graph with its pre- and
 * post-processing and a signature) and runs them on the {@code libmxnet.so} of the {@code mxnet==1.9.1} wheel
 * through JNA.
 *
 * <pre>{@code
 * try (Predictor predictor = new Predictor("out/my_model")) {
 *     NDArray pixels = Images.toNHWC(ImageIO.read(new File("cat.jpg")));
 *     float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
 * }
 * }</pre>
 *
 * {@link io.mxport.Predictor} is the one class with native resources; {@link io.mxport.NDArray},
 * {@link io.mxport.Shape}, {@link io.mxport.DType}, {@link io.mxport.TensorSpec}, {@link io.mxport.Signature},
 * {@link io.mxport.DataDesc} and {@link io.mxport.Context} are immutable values; every failure is an
 * {@link io.mxport.MxportException} with a code of the spec's section 8.
 */
package io.mxport;
