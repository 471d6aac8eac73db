"""spec/spark/cases.json, the Spark cases the Scala API runs too (spec/SPARK.md section 9), on mxport.spark."""

import base64
import json
import os
import re

import pytest

pytest.importorskip("pyspark", reason="pip install -e 'python[spark]' -c requirements-dev.txt")

from mxport import MxportError  # noqa: E402
from mxport.spark import transform  # noqa: E402
import test_spark  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
with open(os.path.join(REPO, "spec", "spark", "cases.json")) as _f:
    CASES = json.load(_f)["cases"]


spark = test_spark.spark  # the fixture of the suite's one local Spark (one SparkContext per process)


def python_options(options):
    """The Scala spelling of cases.json to transform's keywords: batchSize -> batch_size."""
    return {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in options.items()}


def value(v, t):
    from pyspark.sql.types import (
        ArrayType,
        BinaryType,
        ByteType,
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        ShortType,
    )

    if v is None:
        return None
    if isinstance(t, ArrayType):
        return [value(x, t.elementType) for x in v]
    if isinstance(t, BinaryType):
        return bytearray(base64.b64decode(v))
    if isinstance(t, (FloatType, DoubleType)):
        return float(v)
    if isinstance(t, (ByteType, ShortType, IntegerType, LongType)):
        return int(v)
    return v


def frame(spark, case):
    from pyspark.sql.types import _parse_datatype_string

    schema = _parse_datatype_string(case["schema"])
    rows = [tuple(value(v, f.dataType) for v, f in zip(r, schema.fields)) for r in case["rows"]]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, 1), schema)


def model(case):
    return os.path.join(REPO, "spec", "vectors", case["model"], "model")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_case(spark, case):
    df = frame(spark, case)
    options = python_options(case["options"])
    if "plan_error" in case:
        with pytest.raises(MxportError) as e:
            transform(df, model(case), **options)
        assert e.value.code == case["plan_error"], str(e.value)
        return
    scored = transform(df, model(case), **options)
    if "fail" in case:
        with pytest.raises(Exception, match=re.escape(case["fail"])):
            scored.collect()
        return
    added = [(f.name, f.dataType.simpleString()) for f in scored.schema.fields[len(df.columns) :]]
    assert added == [tuple(c) for c in case["columns"]]
    rows = scored.collect()
    error_col = case["columns"][-1][0]
    assert len(rows) == len(case["rows"])
    for i, (row, want) in enumerate(zip(rows, case["errors"])):
        got = row[error_col]
        if want is None:
            assert got is None, (i, got)
            for column, size in case.get("output_sizes", {}).items():
                assert len(row[column]) == size, (i, column)
        else:
            assert got is not None and (got.startswith(want[:-3]) if want.endswith("...") else got == want), (i, got)
            assert all(row[c] is None for c, _ in case["columns"][:-1])
    for a, b in case.get("equal_rows", []):
        for column, _ in case["columns"][:-1]:
            assert rows[a][column] == rows[b][column] and rows[a][column] is not None
