#!/usr/bin/env python3
"""Writes the ONNX files ModelImportTests imports, and onnxruntime's probabilities for them.

Two small classifiers with random weights, built with onnx.helper the way the two exporters
write them (PyTorch's torch.onnx.export was not available here; these mirror its graph):
  torch-vgg.onnx  opset 17: Conv(+bias)→BatchNormalization→Relu→MaxPool→Conv→BatchNormalization
                  (eps 1e-3)→Relu→MaxPool→Shape→Gather→Unsqueeze→Concat→Reshape→Gemm(transB=1)→
                  Relu→Dropout→Gemm; weights in raw_data.
  keras-gap.onnx  opset 13: Conv(+bias, pads 1)→Relu→MaxPool→Conv→Relu→GlobalAveragePool→Flatten→
                  MatMul→Add→Softmax; weights in float_data (as tf2onnx writes small tensors).
For each, 200 inputs [3, 16, 16] from an integer formula both sides compute exactly
(`input_value` here, `ModelImportTests.input` in Swift), and onnxruntime's softmax probabilities
as little-endian float32, 200 × 10, in NAME.expected.

Run from this directory: python3 make_fixtures.py  (needs onnx, onnxruntime, numpy)
"""
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
N, C, H, W, K = 200, 3, 16, 16, 10


def input_value(n, i):
    v = (n * 1103515245 + i * 12345 + 12345) % 2147483648
    return np.float32((v / 2147483648.0 - 0.5) * 4)


def inputs():
    x = np.empty((N, C * H * W), dtype=np.float32)
    for n in range(N):
        x[n] = [input_value(n, i) for i in range(C * H * W)]
    return x.reshape(N, C, H, W)


def tensor(name, array, raw=True):
    array = np.asarray(array, dtype=np.float32)
    if raw:
        return numpy_helper.from_array(array, name)
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.flatten().tolist())


def w(*shape, scale=1.5):
    return (rng.standard_normal(shape) * scale / np.sqrt(np.prod(shape[1:]))).astype(np.float32)


def bn(prefix, c, raw):
    return [tensor(f"{prefix}.scale", rng.uniform(0.5, 1.5, c), raw), tensor(f"{prefix}.bias", rng.uniform(-0.3, 0.3, c), raw),
            tensor(f"{prefix}.mean", rng.uniform(-0.2, 0.2, c), raw), tensor(f"{prefix}.var", rng.uniform(0.5, 2.0, c), raw)]


def torch_vgg():
    raw = True
    inits = [tensor("c1.w", w(8, 3, 3, 3), raw), tensor("c1.b", rng.uniform(-0.1, 0.1, 8), raw), *bn("bn1", 8, raw),
             tensor("c2.w", w(16, 8, 3, 3), raw), *bn("bn2", 16, raw),
             tensor("fc1.w", w(32, 256), raw), tensor("fc1.b", rng.uniform(-0.1, 0.1, 32), raw),
             tensor("fc2.w", w(K, 32), raw), tensor("fc2.b", rng.uniform(-0.1, 0.1, K), raw),
             numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
             numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
             numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1")]
    nodes = [
        helper.make_node("Conv", ["input", "c1.w", "c1.b"], ["c1"], name="/features/0/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"], ["b1"], name="/features/1/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"], name="/features/2/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/features/3/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.w"], ["c2"], name="/features/4/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2.scale", "bn2.bias", "bn2.mean", "bn2.var"], ["b2"], name="/features/5/BatchNormalization", epsilon=1e-3),
        helper.make_node("Relu", ["b2"], ["r2"], name="/features/6/Relu"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="/features/7/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p2"], ["shape"], name="/Shape"),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="/Gather", axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"], name="/Unsqueeze"),
        helper.make_node("Concat", ["batch1", "minus1"], ["target"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["p2", "target"], ["flat"], name="/Reshape"),
        helper.make_node("Gemm", ["flat", "fc1.w", "fc1.b"], ["f1"], name="/classifier/0/Gemm", transB=1),
        helper.make_node("Relu", ["f1"], ["fr1"], name="/classifier/1/Relu"),
        helper.make_node("Dropout", ["fr1"], ["d1"], name="/classifier/2/Dropout"),
        helper.make_node("Gemm", ["d1", "fc2.w", "fc2.b"], ["logits"], name="/classifier/3/Gemm", transB=1),
    ]
    graph = helper.make_graph(nodes, "torch-vgg", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", C, H, W])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", K])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch-style")


def keras_gap():
    raw = False
    inits = [tensor("c1.w", w(12, 3, 3, 3), raw), tensor("c1.b", rng.uniform(-0.1, 0.1, 12), raw),
             tensor("c2.w", w(24, 12, 3, 3), raw), tensor("c2.b", rng.uniform(-0.1, 0.1, 24), raw),
             tensor("dense.w", w(24, K, scale=4.0), raw), tensor("dense.b", rng.uniform(-0.1, 0.1, K), raw)]
    nodes = [
        helper.make_node("Conv", ["input", "c1.w", "c1.b"], ["c1"], name="conv2d", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="conv2d/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="max_pooling2d", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], name="conv2d_1", kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="conv2d_1/Relu"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="global_average_pooling2d"),
        helper.make_node("Flatten", ["g"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "dense.w"], ["mm"], name="dense/MatMul"),
        helper.make_node("Add", ["mm", "dense.b"], ["logits"], name="dense/BiasAdd"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="dense/Softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "keras-gap", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, C, H, W])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, K])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx-style")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


x = inputs()
for name, model in [("torch-vgg", torch_vgg()), ("keras-gap", keras_gap())]:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, f"{name}.onnx")
    session = ort.InferenceSession(f"{name}.onnx", providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": x})[0].astype(np.float64)
    probabilities = out if name == "keras-gap" else softmax(out)
    probabilities.astype("<f4").tofile(f"{name}.expected")
    print(name, "written;", "top-1 classes used:", len(set(probabilities.argmax(1))))
