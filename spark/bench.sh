#!/usr/bin/env bash
# make bench-spark: ResNet-18 end to end (JPEG files -> decode -> predict), batch 8, 128 images of 320x240:
# the single-process Java Predictor, then the Spark Transformer in local[1] and local[2], each in a fresh JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-$PWD/.cache/models/resnet18}
DIR=${DIR:-$PWD/spark/target/bench-images}
ROWS=${ROWS:-128}
BATCH=${BATCH:-8}
MVN="mvn -B -q -Dstyle.color=never -Drevision=$(cat VERSION) -f spark/pom.xml"
$MVN test-compile
run() { $MVN exec:exec -Dbench.args="$*" 2>&1 | grep -oE 'RESULT.*' || { echo "bench $* failed" >&2; exit 1; }; }
rm -rf "$DIR"
$MVN exec:exec -Dbench.args="generate $DIR $ROWS"
echo "$(ls "$DIR" | grep -c jpg) images in $DIR; batch $BATCH; $(nproc) cores"
for mode in java 'local[1]' 'local[2]'; do run "$mode" "$MODEL" "$DIR" "$BATCH"; done
# the pure-Python API on the same files (needs the spark extra in .venv: make spark-setup)
if .venv/bin/python -c "import pyspark, pyarrow" 2>/dev/null; then
  for mode in 'local[1]' 'local[2]'; do .venv/bin/python spark/bench_python.py "$mode" "$MODEL" "$DIR" "$BATCH" 2>/dev/null | grep -oE 'RESULT.*'; done
fi
