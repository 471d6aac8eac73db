/** Runnable examples: {@link io.mxport.examples.Demo} classifies a photo with an end-to-end model. */
package io.mxport.examples;
