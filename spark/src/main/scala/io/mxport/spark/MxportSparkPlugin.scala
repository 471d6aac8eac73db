package io.mxport.spark

import java.util.{Collections, Map => JMap}

import org.apache.spark.api.plugin.{DriverPlugin, ExecutorPlugin, PluginContext, SparkPlugin}

/**
 * Closes the executor's models when the executor stops: `--conf spark.plugins=io.mxport.spark.MxportSparkPlugin`.
 * Without it a JVM shutdown hook does the same when the JVM exits.
 */
class MxportSparkPlugin extends SparkPlugin {
  override def driverPlugin(): DriverPlugin = new DriverPlugin {
    override def init(sc: org.apache.spark.SparkContext, ctx: PluginContext): JMap[String, String] =
      Collections.emptyMap()
    override def shutdown(): Unit = ModelCache.closeAll() // local mode: the driver's JVM is the executor
  }

  override def executorPlugin(): ExecutorPlugin = new ExecutorPlugin {
    override def shutdown(): Unit = ModelCache.closeAll()
  }
}
