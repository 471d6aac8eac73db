"""serve/deploy/kserve.yaml against KServe's own schema: the KServe Python SDK's generated models (from KServe's CRD
OpenAPI, with the Kubernetes client's for core types such as V1Container). Every field of the manifest must be a
field of its type there, with a value of that field's type; a misspelt or misplaced field fails. Run by a venv of
its own (.cache/kserve-venv, so that the SDK's many dependencies cannot move tritonclient's); ``make test-serve``
runs it.
"""

import datetime
import os
import re

import kserve
import kubernetes.client
import pytest
import yaml

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")


def model_class(name):
    for module in (kserve, kubernetes.client):
        if hasattr(module, name):
            return getattr(module, name)
    raise AssertionError(f"no model {name} in the KServe SDK or the Kubernetes client")


def check(value, type_name, path, problems):
    """Appends to problems every place where value does not fit the SDK's type_name."""
    m = re.fullmatch(r"[lL]ist\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: a list, got {value!r}")
            return
        for i, v in enumerate(value):
            check(v, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"[dD]ict[(\[](\w+), (.+)[)\]]", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: a map, got {value!r}")
            return
        for k, v in value.items():
            check(v, m.group(2), f"{path}.{k}", problems)
        return
    simple = {"str": str, "bool": bool, "int": int, "float": (int, float), "datetime": (str, datetime.datetime)}
    if type_name in simple:
        if not isinstance(value, simple[type_name]) or (type_name == "int" and isinstance(value, bool)):
            problems.append(f"{path}: a {type_name}, got {value!r}")
        return
    if type_name == "object":
        return
    cls = model_class(type_name)
    if not isinstance(value, dict):
        problems.append(f"{path}: a {type_name} object, got {value!r}")
        return
    fields = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, v in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: not a field of {type_name} (fields: {sorted(fields)})")
            continue
        check(v, cls.openapi_types[fields[key]], f"{path}.{key}", problems)


def documents():
    with open(os.path.join(DEPLOY, "kserve.yaml")) as f:
        return list(yaml.safe_load_all(f))


KINDS = {
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "V1alpha1ServingRuntime",
    ("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService",
}


def test_manifest_holds_a_serving_runtime_and_an_inference_service_that_use_it():
    docs = documents()
    assert sorted(d["kind"] for d in docs) == ["InferenceService", "ServingRuntime"]
    runtime = next(d for d in docs if d["kind"] == "ServingRuntime")
    service = next(d for d in docs if d["kind"] == "InferenceService")
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["modelFormat"]["name"] in [f["name"] for f in runtime["spec"]["supportedModelFormats"]]
    container = runtime["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert "v2" in runtime["spec"]["protocolVersions"]


@pytest.mark.parametrize("index", [0, 1])
def test_every_field_is_in_kserves_schema(index):
    doc = documents()[index]
    type_name = KINDS[(doc["apiVersion"], doc["kind"])]
    problems = []
    check(doc, type_name, doc["kind"], problems)
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_misplaced_field():
    doc = documents()[0]
    doc["spec"]["containers"][0]["port"] = 8000  # a typo for ports
    doc["spec"]["supportedModelFormats"][0]["autoSelect"] = "yes"
    problems = []
    check(doc, KINDS[(doc["apiVersion"], doc["kind"])], doc["kind"], problems)
    assert len(problems) == 2, problems
