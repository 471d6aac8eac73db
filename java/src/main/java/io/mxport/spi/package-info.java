/** How an engine artifact plugs into {@link io.mxport.Predictor}: {@link io.mxport.spi.EngineProvider}. */
package io.mxport.spi;
