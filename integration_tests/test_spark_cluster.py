"""Spark as a cluster runs it: a standalone master and two workers (1 core each) on this machine, jobs submitted
with spark-submit, executors in JVMs of their own, the model shipped with --files and read as sparkfiles:.

Both APIs: the Scala transformer through the shaded jar (io.mxport.spark.examples.ScoreImages) and the Python
API through a PySpark driver (spark/examples/score_images.py, workers on this venv's Python via spark.pyspark.python).
The cluster is this venv's pyspark: Spark 4 in .venv, Spark 3.5 (the _2.12 jar) in .cache/spark35-venv.
Each job's outputs equal the single-process Java Predictor's and mxport.load's (PNG images, which every decoder
turns into the same pixels; batches of 8, padded, as the jobs run them) to the last bits: a row's position in its
batch moves those on CPUs without AVX-512; each executor loads the
model once (its log line, counted in the executors' stderr). `make test-cluster` (MXPORT_SPARK_CLUSTER_FULL=1)
also kills an executor while it scores: its tasks are retried and the output holds every row once.
"""

import glob
import os
import random
import re
import sys
import time

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="make spark-setup")

import mxnet as mx  # noqa: E402
import mxport  # noqa: E402

from conftest import REPO, JPypeConsumer, jvm_options  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "spark"))
from cluster import StandaloneCluster  # noqa: E402

FULL = os.environ.get("MXPORT_SPARK_CLUSTER_FULL") == "1"
MODELS = os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models"))
BATCH = 8
LOADED = re.compile(r"mxport: loaded (\S+)")


def shaded_jar():
    """The shaded jar of the Spark line this pyspark is: _2.12 for Spark 3.5 (make test-spark35), _2.13 for 4.x."""
    import pyspark

    version = open(os.path.join(REPO, "VERSION")).read().strip()
    spark3 = pyspark.__version__.startswith("3.")
    scala, folder, target = ("2.12", "target-2.12", "jvm-package-2.12") if spark3 else ("2.13", "target", "jvm-package")
    jar = os.path.join(REPO, "spark", folder, f"mxport-spark_{scala}-{version}-all.jar")
    if not os.path.exists(jar):
        pytest.fail(f"{jar} is missing: run `make {target}` (it builds the shaded jar)")
    return jar


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("spark-cluster"))
    with StandaloneCluster(folder, workers=2, cores=1, memory="2g", java_options=" ".join(jvm_options())) as c:
        yield c


def make_images(folder, n):
    """n seeded 320x240 PNG crops of demo/cat.jpg."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    src = Image.open(os.path.join(REPO, "demo", "cat.jpg")).convert("RGB")
    rnd = random.Random(20261129)
    for i in range(n):
        x, y = rnd.randrange(src.width - 320), rnd.randrange(src.height - 240)
        src.crop((x, y, x + 320, y + 240)).save(os.path.join(folder, f"img{i:03d}.png"))
    return sorted(glob.glob(os.path.join(folder, "*.png")))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_images(str(tmp_path_factory.mktemp("images")), 96 if FULL else 24)


@pytest.fixture(scope="module")
def model():
    prefix = os.path.join(MODELS, "resnet18")
    return [prefix + "-symbol.json", prefix + ".params"]


def pixels(path):
    with open(path, "rb") as f:
        return mx.image.imdecode(f.read(), flag=1, to_rgb=1).asnumpy()


def batched(predict, files):
    """Outputs per file, run in padded batches of BATCH as the jobs run them."""
    out = {}
    for k in range(0, len(files), BATCH):
        group = files[k : k + BATCH]
        x = np.stack([pixels(f) for f in group + [group[-1]] * (BATCH - len(group))])
        y = predict([x])[0]
        for j, f in enumerate(group):
            out[os.path.basename(f)] = y[j].reshape(-1).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def reference(images, model, jvm):
    """mxport.load's and the Java Predictor's outputs, in this process."""
    prefix = model[0][: -len("-symbol.json")]
    block = mxport.load(prefix)
    python = batched(lambda xs: [o.asnumpy() for o in [block(*[mx.nd.array(x, dtype="uint8") for x in xs])]], images)
    with JPypeConsumer("java").open(prefix) as predict:
        java = batched(predict, images)
    for name in python:
        assert np.abs(python[name]).max() > 1e-3  # not a degenerate model
    return {"python": python, "java": java}


def read_output(folder):
    import pyarrow.parquet as pq

    table = pq.read_table(folder).to_pydict()
    out = [c for c in table if c not in ("path", "top_class", "top_score", "mxport_error")][0]
    return table["path"], table[out], table["mxport_error"]


def app_of(text):
    m = re.search(r"(app-\d{14}-\d{4})", text)
    assert m, text[-3000:]
    return m.group(1)


def loads_by_executor(cluster, app):
    return {e: len(LOADED.findall(log)) for e, log in cluster.executor_logs(app).items()}


def check_output(folder, images, want):
    paths, outputs, errors = read_output(folder)
    names = [os.path.basename(p) for p in paths]
    assert sorted(names) == sorted(os.path.basename(f) for f in images)  # every row, once
    assert errors == [None] * len(names)
    for name, values in zip(names, outputs):
        for who, ref in want.items():
            # the executors batch their own partitions: a row's position in its batch differs from the reference's,
            # and on CPUs without AVX-512 oneDNN's kernels round a row otherwise by position (last bits only)
            got = np.asarray(values, dtype=np.float32)
            np.testing.assert_allclose(got, ref[name], rtol=1e-5, atol=1e-7, err_msg=f"{who} {name}")
            assert np.argmax(got) == np.argmax(ref[name]), (who, name)


def python_conf():
    return {
        "spark.pyspark.python": sys.executable,
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        "spark.executor.memory": "1g",
        "spark.task.maxFailures": "4",
    }


def scala_conf():
    import mxnet.libinfo

    return {
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        "spark.executor.memory": "1g",
        "spark.plugins": "io.mxport.spark.MxportSparkPlugin",
        "spark.task.maxFailures": "4",
        # the very libmxnet.so the in-process reference ran on
        "spark.executorEnv.MXNET_LIBRARY_PATH": mxnet.libinfo.find_lib_path()[0],
    }


def python_job(cluster, model, images, out, partitions, wait=True):
    job = os.path.join(REPO, "spark", "examples", "score_images.py")
    return cluster.submit(
        [
            "--files",
            ",".join(model),
            job,
            "sparkfiles:resnet18",
            os.path.dirname(images[0]),
            out,
            str(BATCH),
            str(partitions),
        ],
        conf=python_conf(),
        wait=wait,
    )


def scala_job(cluster, model, images, out, wait=True):
    return cluster.submit(
        [
            "--files",
            ",".join(model),
            "--class",
            "io.mxport.spark.examples.ScoreImages",
            shaded_jar(),
            "sparkfiles:resnet18",
            os.path.dirname(images[0]),
            out,
            str(BATCH),
        ],
        conf=scala_conf(),
        wait=wait,
    )


def test_python_api_on_the_cluster_equals_the_predictors_and_loads_once_per_executor(
    cluster, model, images, reference, tmp_path
):
    done = python_job(cluster, model, images, str(tmp_path / "out"), 4)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-5000:]
    check_output(str(tmp_path / "out"), images, reference)
    loads = loads_by_executor(cluster, app_of(done.stdout))
    assert len(loads) == 2 and all(n == 1 for n in loads.values()), loads  # one Python worker per 1-core executor


def test_scala_api_on_the_cluster_equals_the_predictors_and_loads_once_per_executor(
    cluster, model, images, reference, tmp_path
):
    done = scala_job(cluster, model, images, str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-5000:]
    assert f"scored {len(images)} images (0 bad)" in done.stdout
    check_output(str(tmp_path / "out"), images, reference)
    loads = loads_by_executor(cluster, app_of(done.stderr + done.stdout))
    assert len(loads) == 2 and all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1, loads


def kill_one_executor_while_it_scores(cluster, job, timeout=1800):
    """Waits for an executor of the job's application to log its model load, SIGKILLs that executor's JVM,
    waits for the job; returns (killed executor id, application id)."""
    deadline = time.time() + timeout
    before = set(glob.glob(os.path.join(cluster.workdir, "worker-*", "app-*")))
    killed = app = None
    while job.poll() is None and time.time() < deadline:
        apps = set(glob.glob(os.path.join(cluster.workdir, "worker-*", "app-*"))) - before
        if apps and killed is None:
            app = os.path.basename(sorted(apps)[0])
            for executor, log in cluster.executor_logs(app).items():
                if LOADED.search(log):
                    pid = cluster.executor_pid(app, executor)
                    if pid:
                        os.kill(pid, 9)
                        killed = executor
                    break
        time.sleep(0.1)
    job.wait(max(1, deadline - time.time()))
    return killed, app


@pytest.mark.skipif(not FULL, reason="make test-cluster")
@pytest.mark.parametrize("api", ["python", "scala"])
def test_a_killed_executor_s_tasks_are_retried_and_every_row_is_written_once(
    cluster, model, images, reference, tmp_path, api
):
    out = str(tmp_path / "out")
    job = (
        python_job(cluster, model, images, out, 12, wait=False)
        if api == "python"
        else scala_job(cluster, model, images, out, wait=False)
    )
    killed, app = kill_one_executor_while_it_scores(cluster, job)
    logs = sorted(glob.glob(os.path.join(cluster.workdir, "submit-*.err")), key=os.path.getmtime)
    assert job.returncode == 0, open(logs[-1]).read()[-5000:]
    assert killed is not None, "the job ended before an executor could be killed"
    check_output(out, images, reference)
    executors = cluster.executor_folders(app)
    assert len(executors) >= 3, executors  # the worker started a new executor for the killed one
    loads = loads_by_executor(cluster, app)
    assert all(n <= 1 for n in loads.values()), loads
