"""mxport.spark in local Spark: outputs equal mxport.load's bit for bit, bad rows, the schema, the model cache."""

import io
import os
import random
import sys

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="pip install -e 'python[spark]' -c requirements-dev.txt")

import mxnet as mx  # noqa: E402
import mxport  # noqa: E402
from mxport import MxportError  # noqa: E402
from mxport.spark import output_schema, transform  # noqa: E402

# no conftest.py here: a second module named conftest would shadow python/tests/conftest.py for the
# `from conftest import ...` of the other suites
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CAT = os.path.join(REPO, "demo", "cat.jpg")


def vector(name):
    return os.path.join(REPO, "spec", "vectors", name, "model")


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the suite: 2 cores, UI off, Python workers on this interpreter."""
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mxport-spark-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def images():
    """The demo photograph and seeded re-encodings of it (crops and resizes, JPEG and PNG): (name, bytes)."""
    from PIL import Image

    rnd = random.Random(20261125)
    src = Image.open(CAT).convert("RGB")
    w, h = src.size

    def crop(cw, ch):
        x, y = rnd.randrange(w - cw), rnd.randrange(h - ch)
        return src.crop((x, y, x + cw, y + ch))

    made = [(f"crop160x120_{i}", crop(160, 120)) for i in range(6)]
    made += [
        (f"resize200x150_{i}", crop(300 - 20 * i, 225 - 15 * i).resize((200, 150), Image.BILINEAR)) for i in range(3)
    ]
    made += [("crop97x131", crop(97, 131)), ("resize250x90", src.resize((250, 90), Image.BILINEAR))]
    made += [(f"crop160x120_{6 + i}", crop(160, 120)) for i in range(3)]
    with open(CAT, "rb") as f:
        out = [("cat.jpg", f.read())]
    for i, (name, img) in enumerate(made):
        fmt = "PNG" if i % 3 == 2 else "JPEG"
        buf = io.BytesIO()
        img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        out.append((f"{name}.{fmt.lower()}", buf.getvalue()))
    return out


def frame(spark, rows, schema, partitions):
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, partitions), schema)


def reference(block, partitions, batch_size, pad=True):
    """mxport.load's outputs with the transform's batches: per partition, consecutive rows of one shape, up to
    batch_size, a short batch padded with its last row. partitions: lists of rows, a row a list of arrays."""
    out = []
    for rows in partitions:
        i = 0
        while i < len(rows):
            shape = [a.shape for a in rows[i]]
            j = i
            while j < len(rows) and j - i < batch_size and [a.shape for a in rows[j]] == shape:
                j += 1
            batch = rows[i:j]
            padded = batch + [batch[-1]] * ((batch_size if pad else len(batch)) - len(batch))
            arrays = [
                mx.nd.array(np.stack([r[k] for r in padded]), dtype=str(rows[i][k].dtype)) for k in range(len(shape))
            ]
            outs = block(*arrays)
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            for r in range(len(batch)):
                out.append([o.asnumpy().reshape(len(padded), -1)[r] for o in outs])
            i = j
    return out


def by_partition(rows, key="pid"):
    parts = {}
    for r in rows:
        parts.setdefault(r[key], []).append(r)
    return [parts[k] for k in sorted(parts)]


IMAGE_SCHEMA = "path string, content binary"


def test_schema_comes_from_the_signature(spark, resnet):
    df = spark.createDataFrame([], IMAGE_SCHEMA)
    schema = output_schema(df, resnet)
    assert schema.fieldNames() == ["path", "content", "prob", "mxport_error"]
    assert schema["prob"].dataType.simpleString() == "array<float>"


def test_images_equal_mxport_load_bit_for_bit(spark, resnet, images):
    from pyspark.sql import functions as F

    df = frame(spark, images, IMAGE_SCHEMA, 3).withColumn("pid", F.spark_partition_id())
    got = transform(df, resnet, batch_size=4).select("path", "pid", "content", "prob", "mxport_error").collect()
    assert [r["path"] for r in got] == [n for n, _ in images], "row order"
    assert all(r["mxport_error"] is None for r in got), [r["mxport_error"] for r in got]
    block = mxport.load(resnet)
    decoded = [[[mx.image.imdecode(r["content"]).asnumpy()] for r in part] for part in by_partition(got)]
    want = reference(block, decoded, 4)
    top = [w[0].max() for w in want]
    assert min(top) > 0.002, f"degenerate reference: {top}"
    for r, w in zip(got, want):
        got_prob = np.asarray(r["prob"], dtype=np.float32)
        assert np.array_equal(got_prob, w[0]), r["path"]


def test_padded_outputs_do_not_depend_on_partitioning(spark, resnet, images):
    one = [r["prob"] for r in transform(frame(spark, images, IMAGE_SCHEMA, 1), resnet, batch_size=4).collect()]
    four = [r["prob"] for r in transform(frame(spark, images, IMAGE_SCHEMA, 4), resnet, batch_size=4).collect()]
    assert one == four


def test_binary_file_folder(spark, resnet, images, tmp_path):
    for name, data in images[:4]:
        (tmp_path / name).write_bytes(data)
    got = transform(spark.read.format("binaryFile").load(str(tmp_path)), resnet, batch_size=1).collect()
    block = mxport.load(resnet)
    assert len(got) == 4
    for r in got:
        want = block(mx.nd.array(mx.image.imdecode(r["content"]).asnumpy()[None], dtype="uint8")).asnumpy()[0]
        assert np.array_equal(np.asarray(r["prob"], dtype=np.float32), want), r["path"]


def test_numeric_inputs_by_name(spark):
    from pyspark.sql import functions as F

    model = vector("multi_in_single_out")
    rng = np.random.default_rng(3)
    rows = [
        (i, rng.standard_normal(3).astype("float32").tolist(), rng.standard_normal(4).astype("float32").tolist())
        for i in range(11)
    ]
    df = frame(spark, rows, "id int, b array<float>, a array<float>", 2).withColumn("pid", F.spark_partition_id())
    got = transform(df, model, batch_size=3).collect()
    block = mxport.load(model)
    parts = [[[np.asarray(r["a"], "float32"), np.asarray(r["b"], "float32")] for r in p] for p in by_partition(got)]
    want = reference(block, parts, 3)
    assert np.abs(np.concatenate([w[0] for w in want])).max() > 0.1
    for r, w in zip(got, want):
        assert np.array_equal(np.asarray(r["y"], dtype=np.float32), w[0])


def test_each_python_worker_loads_the_model_once(spark):
    import shutil
    import tempfile

    folder = tempfile.mkdtemp()
    for suffix in ("-symbol.json", ".params"):
        shutil.copy(vector("single_in_single_out") + suffix, f"{folder}/m{suffix}")
    uri = f"{folder}/m"
    rows = [([float(i)] * 6,) for i in range(24)]
    df = frame(spark, rows, "x array<double>", 8)
    assert transform(df, uri, batch_size=2).where("mxport_error is null").count() == 24

    def counts(batches):  # runs in the same kind of Python worker as transform's mapInArrow
        import os
        import pyarrow as pa
        from mxport.spark import _scoring

        for _ in batches:  # the worker's model cache: one block per model it loaded
            loads = sum(1 for key in _scoring._models if key[0] == uri)
            yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "loads": [loads]})

    seen = {r["pid"]: r["loads"] for r in df.mapInArrow(counts, "pid long, loads long").collect()}
    assert max(seen.values()) == 1, seen  # a worker that served several partitions loaded once


def test_bad_rows_get_an_error_column(spark, resnet, images):
    cat = images[0][1]
    rows = [
        ("good0.jpg", cat),
        ("garbage.jpg", b"not an image at all"),
        ("good1.jpg", cat),
        ("null.jpg", None),
        ("empty.jpg", b""),
        ("good2.jpg", cat),
    ]
    got = transform(frame(spark, rows, IMAGE_SCHEMA, 1), resnet, batch_size=4).collect()
    assert [r["path"] for r in got] == [n for n, _ in rows]
    by = {r["path"]: r for r in got}
    for n in ("good0.jpg", "good1.jpg", "good2.jpg"):
        assert by[n]["mxport_error"] is None and len(by[n]["prob"]) == 1000
    assert by["good0.jpg"]["prob"] == by["good2.jpg"]["prob"]
    for n in ("garbage.jpg", "null.jpg", "empty.jpg"):
        assert by[n]["prob"] is None
    # the core's message after the column (as the Scala API's): the allow-list refuses it before libmxnet
    assert by["garbage.jpg"]["mxport_error"].startswith(
        "[INVALID_ARGUMENT] column 'content' (model input 'data'): cannot decode 19 bytes as an image"
    )
    assert "Traceback" not in by["garbage.jpg"]["mxport_error"] and 'File "' not in by["garbage.jpg"]["mxport_error"]
    assert by["null.jpg"]["mxport_error"] == "[INVALID_ARGUMENT] column 'content' (model input 'data') is null"


def test_bad_numeric_rows(spark):
    rows = [
        (0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        (1, [1.0, 2.0, 3.0]),
        (2, None),
        (3, [1.0, None, 3.0, 4.0, 5.0, 6.0]),
        (4, [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]),
    ]
    got = (
        transform(frame(spark, rows, "id int, x array<double>", 2), vector("single_in_single_out"))
        .orderBy("id")
        .collect()
    )
    assert got[0]["mxport_error"] is None and got[4]["mxport_error"] is None
    assert got[1]["mxport_error"] == (
        "[SHAPE_MISMATCH] column 'x' (model input 'x') has sample shape [3] (shape [1,3]) but the model takes [-1,6]"
    )
    assert got[2]["mxport_error"].endswith("is null")
    assert "null element" in got[3]["mxport_error"]
    px = [1.0, 2.0, 3.0]
    image_rows = [([[px] * 10] * 12,), ([[[1.5, 2.0, 3.0]] * 10] * 12,), ([[px] * 10] * 11 + [[px] * 9],)]
    errs = [
        r["mxport_error"]
        for r in transform(
            frame(spark, image_rows, "image array<array<array<double>>>", 1), vector("uint8_image")
        ).collect()
    ]
    assert errs[0] is None, errs[0]
    assert errs[1].startswith("[DTYPE_MISMATCH]"), errs[1]
    assert "different lengths" in errs[2], errs[2]


def test_on_error_fail_names_the_row_and_spark_goes_on(spark, resnet, images):
    rows = [("good0.jpg", images[0][1]), ("garbage.jpg", b"junk")]
    with pytest.raises(Exception, match=r"mxport cannot score row 1 of partition 0 \(path = garbage.jpg\)"):
        transform(frame(spark, rows, IMAGE_SCHEMA, 1), resnet, on_error="fail").collect()
    assert transform(frame(spark, rows[:1], IMAGE_SCHEMA, 1), resnet, on_error="fail").count() == 1


def test_driver_side_errors(spark):
    df = spark.createDataFrame([], "z array<float>")
    with pytest.raises(MxportError, match="MODEL_NOT_FOUND"):
        transform(df, "/no/such/model")
    with pytest.raises(MxportError, match=r"input_cols=\{'x'"):
        transform(df, vector("single_in_single_out"))
    assert output_schema(df, vector("single_in_single_out"), input_cols={"x": "z"}).fieldNames() == [
        "z",
        "y",
        "mxport_error",
    ]


def test_an_int8_model_scores_like_mxport_load_bit_for_bit(spark, resnet, images):
    """mxport.optimize's int8 ResNet-18 (format version 3, written by demo/export_resnet.py) in a Spark job."""
    from pyspark.sql import functions as F

    int8 = resnet + "-int8"
    assert mxport.read_signature(int8).optimization["kind"] == "int8"
    df = frame(spark, images, IMAGE_SCHEMA, 2).withColumn("pid", F.spark_partition_id())
    got = transform(df, int8, batch_size=4).select("path", "pid", "content", "prob", "mxport_error").collect()
    assert all(r["mxport_error"] is None for r in got), [r["mxport_error"] for r in got]
    decoded = [[[mx.image.imdecode(r["content"]).asnumpy()] for r in part] for part in by_partition(got)]
    want = reference(mxport.load(int8), decoded, 4)
    assert min(w[0].max() for w in want) > 0.002
    for r, w in zip(got, want):
        assert np.array_equal(np.asarray(r["prob"], dtype=np.float32), w[0]), r["path"]


def test_engine_onnxruntime_scores_like_mxport_load_on_that_engine(spark, resnet, images):
    """engine='onnxruntime': each worker runs mxport.load(prefix, engine='onnxruntime'); its rows equal that
    block's outputs on the same pixels, and stay within spec/onnx_tolerances.json of MXNet's."""
    import json
    from pyspark.sql import functions as F

    df = frame(spark, images, IMAGE_SCHEMA, 2).withColumn("pid", F.spark_partition_id())
    got = (
        transform(df, resnet, batch_size=4, engine="onnxruntime")
        .select("path", "pid", "content", "prob", "mxport_error")
        .collect()
    )
    assert all(r["mxport_error"] is None for r in got), [r["mxport_error"] for r in got]
    decoded = [[[mx.image.imdecode(r["content"]).asnumpy()] for r in part] for part in by_partition(got)]
    want = reference(mxport.load(resnet, engine="onnxruntime"), decoded, 4)
    on_mxnet = reference(mxport.load(resnet), decoded, 4)
    assert min(w[0].max() for w in on_mxnet) > 0.002, "degenerate reference"
    tol = json.load(open(os.path.join(REPO, "spec", "onnx_tolerances.json")))["engines"]["onnxruntime"]["default"]
    for r, w, m in zip(got, want, on_mxnet):
        prob = np.asarray(r["prob"], dtype=np.float32)
        np.testing.assert_allclose(prob, w[0], rtol=1e-6, atol=1e-7, err_msg=r["path"])
        np.testing.assert_allclose(prob, m[0], rtol=tol["rtol"], atol=tol["atol"], err_msg=r["path"])
    with pytest.raises(MxportError, match="INVALID_ARGUMENT"):
        transform(df, resnet, engine="tensorrt")
