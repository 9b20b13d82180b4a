#!/usr/bin/env python3
"""Writes the ONNX files ModelImportTests imports, and onnxruntime's probabilities for them.

Two small classifiers with random weights, built with onnx.helper the way the two exporters
write them (PyTorch's torch.onnx.export was not available here; these mirror its graph):
  torch-vgg.onnx  opset 17: Conv(+bias)→BatchNormalization→Relu→MaxPool→Conv→BatchNormalization
                  (eps 1e-3)→Relu→MaxPool→Shape→Gather→Unsqueeze→Concat→Reshape→Gemm(transB=1)→
                  Relu→Dropout→Gemm; weights in raw_data, one passed through an Identity node.
  keras-gap.onnx  opset 13: Conv(+bias, pads 1)→Relu→MaxPool→Conv→Relu→GlobalAveragePool→Flatten→
                  MatMul→Add→Softmax; weights in float_data (as tf2onnx writes small tensors).
  torch-resnet(-folded).onnx  opset 18: a small torchvision-style ResNet (stem, a basic block with an
                  identity shortcut, one with a 1×1/2 projection, GlobalAveragePool, Flatten, Gemm),
                  with BatchNormalization nodes, and with each folded into its Conv as
                  torch.onnx.export writes it in eval mode.
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
        helper.make_node("Gemm", ["d1", "fc2.w.shared", "fc2.b"], ["logits"], name="/classifier/3/Gemm", transB=1),
    ]
    # The TorchScript exporter routes weights it deduplicated through Identity nodes, first in the graph.
    nodes.insert(0, helper.make_node("Identity", ["fc2.w"], ["fc2.w.shared"], name="Identity_0"))
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


def torch_resnet(folded):
    """A small torchvision-style ResNet: stem Conv7×7/2-BN-Relu-MaxPool3×3/2, a basic block with an
    identity shortcut, one with a 1×1/2 projection, GlobalAveragePool, Flatten, Gemm. `folded`
    writes each BatchNorm folded into its Conv (a bias, no BN node), as torch.onnx.export does in
    eval mode; otherwise BN nodes stay (as with do_constant_folding=False)."""
    inits, nodes = [], []

    def conv_bn(name, x, cin, cout, k, stride, pad, relu):
        weight = w(cout, cin, k, k, scale=1.5)
        scale, shift = rng.uniform(0.5, 1.5, cout), rng.uniform(-0.3, 0.3, cout)
        mean, var = rng.uniform(-0.2, 0.2, cout), rng.uniform(0.5, 2.0, cout)
        out = f"{name}.out"
        if folded:
            factor = scale / np.sqrt(var + 1e-5)
            inits.extend([tensor(f"{name}.w", weight * factor[:, None, None, None]), tensor(f"{name}.b", shift - mean * factor)])
            nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [out], name=f"/{name}/Conv", kernel_shape=[k, k],
                                          strides=[stride, stride], pads=[pad] * 4))
        else:
            inits.extend([tensor(f"{name}.w", weight), tensor(f"{name}.s", scale), tensor(f"{name}.sh", shift),
                          tensor(f"{name}.m", mean), tensor(f"{name}.v", var)])
            nodes.append(helper.make_node("Conv", [x, f"{name}.w"], [f"{name}.c"], name=f"/{name}/Conv", kernel_shape=[k, k],
                                          strides=[stride, stride], pads=[pad] * 4))
            nodes.append(helper.make_node("BatchNormalization", [f"{name}.c", f"{name}.s", f"{name}.sh", f"{name}.m", f"{name}.v"],
                                          [out], name=f"/{name}/BatchNormalization", epsilon=1e-5))
        if relu:
            nodes.append(helper.make_node("Relu", [out], [f"{name}.relu"], name=f"/{name}/Relu"))
            return f"{name}.relu"
        return out

    def block(name, x, cin, cout, stride):
        a = conv_bn(f"{name}.conv1", x, cin, cout, 3, stride, 1, True)
        b = conv_bn(f"{name}.conv2", a, cout, cout, 3, 1, 1, False)
        s = conv_bn(f"{name}.downsample", x, cin, cout, 1, stride, 0, False) if stride != 1 or cin != cout else x
        nodes.append(helper.make_node("Add", [b, s], [f"{name}.sum"], name=f"/{name}/Add"))
        nodes.append(helper.make_node("Relu", [f"{name}.sum"], [f"{name}.out"], name=f"/{name}/Relu_1"))
        return f"{name}.out"

    x = conv_bn("stem", "input", C, 8, 7, 2, 3, True)
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="/maxpool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4))
    x = block("layer1.0", "pool", 8, 8, 1)
    x = block("layer2.0", x, 8, 16, 2)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="/avgpool/GlobalAveragePool"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="/Flatten", axis=1))
    inits.extend([tensor("fc.w", w(K, 16, scale=4.0)), tensor("fc.b", rng.uniform(-0.1, 0.1, K))])
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="/fc/Gemm", transB=1))
    name = "torch-resnet-folded" if folded else "torch-resnet"
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", C, H, W])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", K])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="pytorch-style")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


x = inputs()
for name, model in [("torch-vgg", torch_vgg()), ("keras-gap", keras_gap()),
                    ("torch-resnet", torch_resnet(False)), ("torch-resnet-folded", torch_resnet(True))]:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, f"{name}.onnx")
    session = ort.InferenceSession(f"{name}.onnx", providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": x})[0].astype(np.float64)
    probabilities = out if name == "keras-gap" else softmax(out)
    probabilities.astype("<f4").tofile(f"{name}.expected")
    print(name, "written;", "top-1 classes used:", len(set(probabilities.argmax(1))))
