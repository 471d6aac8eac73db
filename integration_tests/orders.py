"""The orders in which users meet mxport, one per process: ``python orders.py SCENARIO WORKDIR``.

Each scenario runs MXNet the way a user does before, after or beside mxport, then writes what mxport's
model answered to ``WORKDIR/<scenario>-<i>.npy`` (one file per answer). test_orders.py runs every scenario many
times, each in a fresh process, and compares the answers bit for bit with a process that only loads.

WORKDIR holds ``model`` (the issue's mobilenetv2_0.25 end to end: uint8 NHWC 240x320 photos in, He-initialised,
exported by ``make_model``), ``second`` (a small MLP exported likewise) and ``x.npy`` / ``y.npy`` (their inputs).
"""

import os
import sys

import numpy as np

SCENARIOS = (
    "only_load",
    "import_late_after_eager",
    "eager_then_load",
    "hybrid_export_then_load",
    "module_then_load",
    "python_ops_then_jvm",
    "jvm_then_python_ops",
    "two_models_at_different_times",
    "spark_worker_after_user_ops",
    "python_ops_without_mxport_then_jvm",
    "jvm_first_then_gluon",
    "mxnet_first_then_load",
    "mxport_first_then_load",
)


def he_init():
    import mxnet as mx

    return mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


def mobilenet():
    """The issue's net and pre-processing, with weights fixed by the seed."""
    import mxnet as mx
    from mxnet import gluon
    from mxnet.gluon.data.vision import transforms

    mx.random.seed(7)
    net = gluon.model_zoo.vision.get_model("mobilenetv2_0.25", pretrained=False)
    net.initialize(he_init())
    pre = gluon.nn.HybridSequential()
    pre.add(
        transforms.Resize(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    )
    return net, pre


def make_model(work):
    """Exports the two models and their inputs (run once, in a process of its own)."""
    import mxnet as mx
    from mxnet import gluon
    import mxport
    from mxport import TensorSpec

    net, pre = mobilenet()
    x = np.random.RandomState(0).randint(0, 256, (3, 240, 320, 3)).astype("uint8")
    net(pre(mx.nd.array(x, dtype="uint8")))  # deferred initialisation
    mxport.export(
        net,
        os.path.join(work, "model"),
        preprocess=pre,
        inputs=[TensorSpec("data", (-1, 240, 320, 3), "uint8", "NHWC")],
    )
    mx.random.seed(8)
    mlp = gluon.nn.HybridSequential()
    mlp.add(gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    mlp.initialize(he_init())
    y = np.random.RandomState(1).standard_normal((4, 20)).astype("float32")
    mlp(mx.nd.array(y))
    mxport.export(mlp, os.path.join(work, "second"), inputs=[TensorSpec("data", (-1, 20), "float32", "NC")])
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "y.npy"), y)
    stock, _ = mobilenet()  # what module_then_load's user runs: a stock MXNet checkpoint of the network
    stock.hybridize()
    stock(pre(mx.nd.array(x, dtype="uint8")))
    stock.export(os.path.join(work, "module-stock"), epoch=0)


class Run:
    def __init__(self, name, work):
        self.name, self.work, self.n = name, work, 0
        self.x = np.load(os.path.join(work, "x.npy"))
        self.y = np.load(os.path.join(work, "y.npy"))
        self.model = os.path.join(work, "model")
        self.second = os.path.join(work, "second")

    def answer(self, array):
        np.save(os.path.join(self.work, f"{self.name}-{self.n}.npy"), np.asarray(array))
        self.n += 1


def user_eager_forward(run):
    """A notebook evaluates its own Gluon net eagerly (MXNet's oneDNN primitives get cached on the worker)."""
    import mxnet as mx

    net, pre = mobilenet()
    return net(pre(mx.nd.array(run.x, dtype="uint8"))).asnumpy()


def jvm_predict(language, prefix, array):
    import jpype
    import io

    if not jpype.isJVMStarted():
        options = os.environ.get("MXPORT_TEST_JVM_OPTIONS", "").split()  # conftest.jvm_options (not importable here)
        jpype.startJVM(*options, classpath=os.environ["MXPORT_IT_CLASSPATH"].split(os.pathsep), convertStrings=True)
    runner_class = jpype.JClass("io.mxport.it.JavaRunner" if language == "java" else "io.mxport.it.ScalaRunner")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    byte_array = jpype.JArray(jpype.JByte)
    with runner_class(prefix, True) as runner:
        out = runner.predict(jpype.JArray(byte_array)([byte_array(buffer.getvalue())]))
        return np.load(io.BytesIO(bytes(memoryview(out[0]))), allow_pickle=False)


def spark_after_user_ops(run):
    """A PySpark worker ran the user's MXNet code (no mxport) before mxport.spark scores in that same worker."""
    import io
    from PIL import Image
    from pyspark.sql import SparkSession
    import mxport.spark

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("mxport-orders")
        .config("spark.ui.enabled", "false")
        .config("spark.python.worker.reuse", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        here = os.path.dirname(os.path.abspath(__file__))

        def user_code(batches):  # runs in the Python worker, which has not imported mxport
            import pandas as pd

            sys.path.insert(0, here)
            import orders

            assert "mxport" not in sys.modules
            orders.user_eager_forward(orders.Run("user", run.work))
            for _ in batches:
                pass
            yield pd.DataFrame({"pid": [os.getpid()]})

        def decision(batches):
            import pandas as pd
            import mxport

            for _ in batches:
                pass
            yield pd.DataFrame(
                {
                    "pid": [os.getpid()],
                    "reason": [mxport.environment.applied().reason],
                    "omp": [os.environ.get("OMP_NUM_THREADS", "")],
                }
            )

        one = spark.range(1).repartition(1)
        before = one.mapInPandas(user_code, "pid long").collect()
        pngs = []
        for i, image in enumerate(run.x):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            pngs.append((f"{i}.png", buffer.getvalue()))
        df = spark.createDataFrame(spark.sparkContext.parallelize(pngs, 1), "path string, content binary")
        rows = mxport.spark.transform(df, run.model, batch_size=len(pngs), on_error="fail").collect()
        after = one.mapInPandas(decision, "pid long, reason string, omp string").collect()
        assert [r.pid for r in after] == [r.pid for r in before], "the worker was not reused"
        # PySpark gives its Python workers OMP_NUM_THREADS (the executor's cores) unless the user set it, so
        # there the environment decides; without it, mxport must have left the used worker alone
        assert after[0].reason == (
            "the environment sets the thread count"
            if after[0].omp
            else "MXNet had already run operators at 1 thread(s)"
        ), after[0]
        output = [c for c in rows[0].asDict() if c not in ("path", "content", "mxport_error")][0]
        return np.stack([np.asarray(r[output], dtype="float32") for r in rows])
    finally:
        spark.stop()


def spin_set_by_import_hook():
    """What the installed start-up hook (python/src/_mxport_hook.py) set while MXNet loaded."""
    return sys.modules["_mxport_hook"].applied.get("GOMP_SPINCOUNT")


def main(name, work):
    run = Run(name, work)
    if name in ("mxnet_first_then_load", "mxport_first_then_load"):  # the two lines users write
        if name == "mxnet_first_then_load":
            import mxnet as mx, mxport  # noqa: E401  the short spin comes from the hook here
        else:
            import mxport, mxnet as mx  # noqa: E401  and from mxport's own import here

        applied = mxport.environment.applied()
        assert (applied.spin_count, applied.outcome) == ("3000", "applied"), applied
        assert spin_set_by_import_hook() == ("3000" if name.startswith("mxnet") else None)
        run.answer(mxport.load(run.model)(mx.nd.array(run.x, dtype="uint8")).asnumpy())
        return
    if name == "import_late_after_eager":  # MXNet ran before mxport was imported: the count is left alone
        import mxnet as mx

        user_eager_forward(run)
        import mxport

        assert mxport.environment.threads() is None, mxport.environment.applied()
        assert mxport.environment.applied().spin_count == "3000", mxport.environment.applied()  # the hook's
        run.answer(mxport.load(run.model)(mx.nd.array(run.x, dtype="uint8")).asnumpy())
        return
    if name == "python_ops_without_mxport_then_jvm":  # a Python service that never imports mxport hands over
        user_eager_forward(run)
        assert spin_set_by_import_hook() == "3000"  # a JPype program that imports mxnet before the JVM
        run.answer(jvm_predict("java", run.model, run.x))
        run.answer(jvm_predict("scala", run.model, run.x))
        assert "mxport" not in sys.modules
        return
    if name == "jvm_first_then_gluon":  # a JVM loads and runs a Predictor before Python has imported mxnet
        run.answer(jvm_predict("java", run.model, run.x))
        assert "mxnet" not in sys.modules
        import mxnet as mx  # the very libmxnet.so the JVM took (test_jvm_first_in_python.py)

        assert spin_set_by_import_hook() is None  # libgomp was loaded by then: the JVM decided its spin

        user_eager_forward(run)  # the user's own Gluon net, eagerly
        import mxport

        run.answer(mxport.load(run.model)(mx.nd.array(run.x, dtype="uint8")).asnumpy())
        run.answer(jvm_predict("java", run.model, run.x))
        return
    import mxnet as mx
    import mxport

    assert mxport.environment.applied().spin_count == "3000", mxport.environment.applied()  # the hook's
    x = mx.nd.array(run.x, dtype="uint8")
    if name == "only_load":
        run.answer(mxport.load(run.model)(x).asnumpy())
        run.answer(mxport.load(run.second)(mx.nd.array(run.y)).asnumpy())
    elif name == "eager_then_load":  # the snippet: the user's net, then export, then load without transforms
        from mxport import TensorSpec

        net, pre = mobilenet()
        reference = net(pre(x)).asnumpy()
        prefix = os.path.join(work, f"{name}-export")
        mxport.export(net, prefix, preprocess=pre, inputs=[TensorSpec("data", (-1, 240, 320, 3), "uint8", "NHWC")])
        mine = mxport.load(prefix, load_transforms=False)(pre(x)).asnumpy()
        assert np.array_equal(mine, reference), np.abs(mine - reference).max()  # the user's own net, bit for bit
        run.answer(mxport.load(run.model)(x).asnumpy())
    elif name == "hybrid_export_then_load":
        net, pre = mobilenet()
        net.hybridize()
        net(pre(x))
        net.export(os.path.join(work, f"{name}-stock"), epoch=0)
        run.answer(mxport.load(run.model)(x).asnumpy())
    elif name == "module_then_load":
        sym, args, aux = mx.model.load_checkpoint(os.path.join(work, "module-stock"), 0)
        mod = mx.mod.Module(sym, data_names=["data"], label_names=None, context=mx.cpu())
        mod.bind(data_shapes=[("data", (3, 3, 224, 224))], for_training=False)
        mod.set_params(args, aux)
        mod.forward(mx.io.DataBatch([mx.nd.array(np.random.RandomState(2).standard_normal((3, 3, 224, 224)))]))
        mod.get_outputs()[0].asnumpy()
        run.answer(mxport.load(run.model)(x).asnumpy())
    elif name == "python_ops_then_jvm":
        user_eager_forward(run)
        run.answer(jvm_predict("java", run.model, run.x))
        run.answer(jvm_predict("scala", run.model, run.x))
        run.answer(mxport.load(run.model)(x).asnumpy())
    elif name == "jvm_then_python_ops":
        run.answer(jvm_predict("java", run.model, run.x))
        user_eager_forward(run)
        run.answer(mxport.load(run.model)(x).asnumpy())
        run.answer(jvm_predict("scala", run.model, run.x))
    elif name == "two_models_at_different_times":
        run.answer(mxport.load(run.model)(x).asnumpy())
        user_eager_forward(run)
        run.answer(mxport.load(run.second)(mx.nd.array(run.y)).asnumpy())
        run.answer(mxport.load(run.model)(x).asnumpy())
    elif name == "spark_worker_after_user_ops":
        run.answer(spark_after_user_ops(run))
    else:
        raise SystemExit(f"unknown scenario {name!r}; one of {SCENARIOS}")


if __name__ == "__main__":
    if sys.argv[1] == "make_model":
        make_model(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
