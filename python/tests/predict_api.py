"""Runs an mxport model through MXNet's C Predict API (ctypes), then through mxport.load in the same process.

python predict_api.py PREFIX INPUT.npy PRED_OUT.npy GLUON_OUT.npy
"""

import ctypes
import sys

import mxport  # first: on Python 3.12+ MXNet imports only after mxport restored what it needs (spec/RUNTIME.md)
import mxnet as mx
import numpy as np
from mxnet.base import _LIB, check_call

prefix, input_path, pred_path, gluon_path = sys.argv[1:5]
x = np.load(input_path)
symbol = open(f"{prefix}-symbol.json", "rb").read()
params = open(f"{prefix}.params", "rb").read()
handle = ctypes.c_void_p()
keys = (ctypes.c_char_p * 1)(b"data")
indptr = (ctypes.c_uint * 2)(0, x.ndim)
shape = (ctypes.c_uint * x.ndim)(*x.shape)
dtypes = (ctypes.c_int * 1)(3)  # mshadow uint8
check_call(
    _LIB.MXPredCreateEx(
        ctypes.c_char_p(symbol),
        ctypes.c_char_p(params),
        ctypes.c_int(len(params)),
        ctypes.c_int(1),
        ctypes.c_int(0),
        ctypes.c_uint(1),
        keys,
        indptr,
        shape,
        ctypes.c_uint(1),
        keys,
        dtypes,
        ctypes.byref(handle),
    )
)
data = np.ascontiguousarray(x)
check_call(_LIB.MXPredSetInput(handle, b"data", data.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint(data.size)))
check_call(_LIB.MXPredForward(handle))
out_shape = ctypes.POINTER(ctypes.c_uint)()
ndim = ctypes.c_uint()
check_call(_LIB.MXPredGetOutputShape(handle, ctypes.c_uint(0), ctypes.byref(out_shape), ctypes.byref(ndim)))
out = np.empty([out_shape[i] for i in range(ndim.value)], dtype="float32")
check_call(
    _LIB.MXPredGetOutput(
        handle, ctypes.c_uint(0), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.c_uint(out.size)
    )
)
check_call(_LIB.MXPredFree(handle))
np.save(pred_path, out)
np.save(gluon_path, mxport.load(prefix)(mx.nd.array(x, dtype="uint8")).asnumpy())
