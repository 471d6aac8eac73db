"""An mxport model is still an MXNet model: stock MXNet 1.9.1 loads it four ways, and keeps the signature."""

import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
from mxnet import gluon

import mxport
from conftest import VECTORS, assert_close, assert_meaningful

HERE = os.path.dirname(os.path.abspath(__file__))


def pixels(batch=2, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (batch, 300, 300, 3)).astype("uint8")


def test_sym_load_reads_the_fused_graph_and_its_connectors(resnet):
    sym = mx.sym.load(f"{resnet}-symbol.json")
    attrs = sym.attr_dict()
    kinds = sorted(a["__mxport_connector__"] for a in attrs.values() if "__mxport_connector__" in a)
    assert kinds == ["batchify", "noop"]
    assert sum("__mxport_signature__" in a for a in attrs.values()) == 1


def test_symbolblock_imports_gives_mxports_outputs_bit_for_bit(resnet):
    x = mx.nd.array(pixels(), dtype="uint8")
    stock = gluon.SymbolBlock.imports(f"{resnet}-symbol.json", ["data"], f"{resnet}.params")
    want = mxport.load(resnet)(x).asnumpy()
    assert_meaningful(np.log(want))
    assert np.array_equal(stock(x).asnumpy(), want)


def test_stock_module_binds_and_agrees(resnet):
    mod = mx.mod.Module(mx.sym.load(f"{resnet}-symbol.json"), data_names=["data"], label_names=None)
    mod.bind(data_shapes=[mx.io.DataDesc("data", (2, 300, 300, 3), np.uint8)], for_training=False)
    saved = mx.nd.load(f"{resnet}.params")
    mod.set_params(
        {k[4:]: v for k, v in saved.items() if k.startswith("arg:")},
        {k[4:]: v for k, v in saved.items() if k.startswith("aux:")},
    )
    x = pixels()
    mod.forward(mx.io.DataBatch([mx.nd.array(x, dtype="uint8")]))
    want = mxport.load(resnet)(x).asnumpy()
    # Module's GraphExecutor fuses oneDNN subgraphs, Gluon does not: last bits differ (about 1e-7 relative)
    assert_close(mod.get_outputs()[0].asnumpy(), want, 1e-4, 1e-6, "stock Module")


def test_signature_survives_a_stock_load_and_save(tmp_path):
    source = os.path.join(VECTORS, "multi_in_multi_out", "model")
    mx.sym.load(f"{source}-symbol.json").save(str(tmp_path / "m-symbol.json"))
    shutil.copy(f"{source}.params", tmp_path / "m.params")
    assert mxport.read_signature(tmp_path / "m") == mxport.read_signature(source)
    a, b = np.ones((1, 4), "float32"), np.ones((1, 3), "float32")
    for got, want in zip(mxport.load(tmp_path / "m")(a, b), mxport.load(source)(a, b)):
        assert np.array_equal(got.asnumpy(), want.asnumpy())


def test_signature_survives_symbolblock_imports_and_export(tmp_path):
    source = os.path.join(VECTORS, "uint8_image", "model")
    block = gluon.SymbolBlock.imports(f"{source}-symbol.json", ["image"], f"{source}.params")
    block.hybridize()
    block(mx.nd.zeros((1, 12, 10, 3), dtype="uint8"))
    block.export(str(tmp_path / "re"), epoch=0)
    graph_sig = mxport.read_signature(tmp_path / "re")  # reads the symbol file alone
    assert graph_sig.inputs == mxport.read_signature(source).inputs


def test_c_predict_api_gives_gluons_outputs_bit_for_bit(resnet, tmp_path):
    """MXPredCreateEx through ctypes, in a process with MXNET_SUBGRAPH_BACKEND=NONE (without it the
    Predict API fuses oneDNN subgraphs and differs from Gluon in the last bits, ~3.5e-10)."""
    x = pixels(batch=1, seed=3)
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, MXNET_SUBGRAPH_BACKEND="NONE")
    subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "predict_api.py"),
            resnet,
            str(tmp_path / "x.npy"),
            str(tmp_path / "pred.npy"),
            str(tmp_path / "gluon.npy"),
        ],
        check=True,
        env=env,
    )
    pred, gluon_out = np.load(tmp_path / "pred.npy"), np.load(tmp_path / "gluon.npy")
    assert_meaningful(np.log(gluon_out))
    assert np.array_equal(pred, gluon_out)
