#!/usr/bin/env python3
"""Exports a Boundary model directory (spec.json + model.safetensors) to ONNX for the peer server.

The graph mirrors Boundary's inference model: every BatchNorm that follows a convolution is folded
into it (eval mode, running statistics, eps 1e-5), and a Softmax ends the graph, so the output
"probabilities" is class probabilities for an NCHW float input "image" of the spec's size (the batch
dimension is dynamic); a second output "embedding" is the input of the final dense layer.

A residual layer (ResNet basic block, Sources/NeuralNet/ResidualBlock.swift) becomes
Conv(conv1+bn1) → Relu → Conv(conv2+bn2), plus the shortcut — the identity, or Conv(shortcut.conv +
shortcut.bn) (1×1 with the block's stride) when stride ≠ 1 or the channel count changes — then Add
and Relu, reading the tensors `layers.I.conv1.weight`, `layers.I.bn1.running_mean`, … .

The export is checked against a plain NumPy forward pass of the same spec that applies BatchNorm
unfolded, on a few seeded random inputs; the script fails if probabilities differ by 1e-4 or more.
`--verify-size S` runs that check on S×S inputs instead, with a copy of the graph declared at that
size (nothing else in the graph depends on the input size when a globalAvgPool precedes the head);
a full-size 224×224 resnet18 check takes a few seconds, so it is there for slower machines.

    python3 bench/export_onnx.py [--model Sources/DefaultModel/scene-s-demo] [--out bench/out/scene-s.onnx]
    python3 bench/export_onnx.py --model bench/out/resnet18 --out bench/out/resnet18.onnx --verify-size 64
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
BN_EPS = 1e-5  # BatchNorm2D.epsilon in Sources/NeuralNet/BatchNorm2D.swift
SUPPORTED = {"conv", "batchNorm", "relu", "maxPool", "globalAvgPool", "flatten", "dropout", "dense", "residual"}


def conv_defaults(layer):
    """Fills the defaults ModelSpec.swift applies when decoding a layer."""
    layer = dict(layer)
    if layer["type"] == "conv":
        layer.setdefault("stride", 1)
        layer.setdefault("padding", layer["kernel"] // 2)
        layer.setdefault("bias", False)
    elif layer["type"] == "maxPool":
        layer.setdefault("stride", layer["kernel"])
        layer.setdefault("padding", 0)
    elif layer["type"] == "residual":
        layer.setdefault("stride", 1)
    return layer


def load_model(model_dir):
    spec = json.loads((model_dir / "spec.json").read_text())
    layers = [conv_defaults(layer) for layer in spec["layers"]]
    unsupported = {layer["type"] for layer in layers} - SUPPORTED
    if unsupported:
        sys.exit(f"export_onnx: layer types {sorted(unsupported)} are not supported by this exporter")
    return spec, layers, load_file(str(model_dir / "model.safetensors"))


def bn_affine(w, p):
    """Eval-mode BatchNorm with tensor prefix p ("layers.1.", "layers.4.bn1.") as y = scale * x + shift."""
    scale = w[p + "weight"] / np.sqrt(w[p + "running_var"] + BN_EPS)
    return scale, w[p + "bias"] - w[p + "running_mean"] * scale


# --- NumPy reference ---------------------------------------------------------------------------

def np_conv(x, weight, bias, stride, padding):
    oc, c, kh, kw = weight.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    y = np.einsum("nchwij,ocij->nohw", windows, weight, optimize=True)
    return y if bias is None else y + bias[None, :, None, None]


def np_maxpool(x, kernel, stride, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(4, 5))


def has_projection(w, p, layer, in_channels):
    """Whether residual block p has a projection shortcut; checks the checkpoint agrees with the spec."""
    needed = layer["stride"] != 1 or in_channels != layer["out"]
    present = p + "shortcut.conv.weight" in w
    if needed != present:
        sys.exit(f"export_onnx: {p[:-1]}: the spec {'needs' if needed else 'has no'} a projection shortcut "
                 f"but the checkpoint {'lacks' if needed else 'has'} {p}shortcut.conv.weight")
    return needed


def np_bn(x, w, p):
    scale, shift = bn_affine(w, p)
    return x * scale[None, :, None, None] + shift[None, :, None, None]


def np_residual(x, w, p, layer):
    """ResidualBlock.forward: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""
    y = np.maximum(np_bn(np_conv(x, w[p + "conv1.weight"], None, layer["stride"], 1), w, p + "bn1."), 0)
    y = np_bn(np_conv(y, w[p + "conv2.weight"], None, 1, 1), w, p + "bn2.")
    s = x
    if has_projection(w, p, layer, x.shape[1]):
        s = np_bn(np_conv(x, w[p + "shortcut.conv.weight"], None, layer["stride"], 0), w, p + "shortcut.bn.")
    return np.maximum(y + s, 0)


def reference_forward(layers, w, x, class_count):
    """Float64 forward pass in evaluation mode, layer by layer as Network.swift defines them."""
    x = x.astype(np.float64)
    for i, layer in enumerate(layers):
        p, kind = f"layers.{i}.", layer["type"]
        if kind == "conv":
            x = np_conv(x, w[p + "weight"], w.get(p + "bias"), layer["stride"], layer["padding"])
        elif kind == "batchNorm":
            x = np_bn(x, w, p)
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "residual":
            x = np_residual(x, w, p, layer)
        elif kind == "maxPool":
            x = np_maxpool(x, layer["kernel"], layer["stride"], layer["padding"])
        elif kind == "globalAvgPool":
            x = x.mean(axis=(2, 3))
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "dense":
            x = x @ w[p + "weight"].T + w[p + "bias"]
        # dropout is the identity at inference
    assert x.shape[1] == class_count, x.shape
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- ONNX graph --------------------------------------------------------------------------------

def build_onnx(spec, layers, w, size=None):
    """The ONNX model; `size` overrides the declared input height and width (for the verification)."""
    inp = spec["input"]
    height, width = (size, size) if size else (inp["height"], inp["width"])
    nodes, inits = [], []
    current = "image"
    channels = inp["channels"]  # of `current`, for the residual blocks' shortcut choice

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(op, inputs, **attrs):
        nonlocal current
        out = f"t{len(nodes)}_{op.lower()}"
        nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{len(nodes)}", **attrs))
        current = out
        return out

    def folded_conv(x, weight_name, bn_prefix, kernel, stride, padding):
        """Conv without bias followed by BatchNorm `bn_prefix`, folded into one Conv."""
        weight = w[weight_name].astype(np.float64)
        scale, shift = bn_affine(w, bn_prefix)
        return node("Conv", [x, const(weight_name, weight * scale[:, None, None, None]),
                             const(bn_prefix + "folded_bias", shift)],
                    kernel_shape=[kernel] * 2, strides=[stride] * 2, pads=[padding] * 4)

    i = 0
    while i < len(layers):
        layer, p, kind = layers[i], f"layers.{i}.", layers[i]["type"]
        if kind == "conv":
            weight = w[p + "weight"].astype(np.float64)
            bias = w.get(p + "bias", np.zeros(weight.shape[0])).astype(np.float64)
            if i + 1 < len(layers) and layers[i + 1]["type"] == "batchNorm":
                scale, shift = bn_affine(w, f"layers.{i + 1}.")
                weight, bias = weight * scale[:, None, None, None], bias * scale + shift
                i += 1
            pad = layer["padding"]
            node("Conv", [current, const(p + "weight", weight), const(p + "bias", bias)],
                 kernel_shape=[layer["kernel"]] * 2, strides=[layer["stride"]] * 2, pads=[pad] * 4)
            channels = layer["out"]
        elif kind == "residual":
            x, stride = current, layer["stride"]
            folded_conv(x, p + "conv1.weight", p + "bn1.", 3, stride, 1)
            node("Relu", [current])
            main_out = folded_conv(current, p + "conv2.weight", p + "bn2.", 3, 1, 1)
            shortcut = x
            if has_projection(w, p, layer, channels):
                shortcut = folded_conv(x, p + "shortcut.conv.weight", p + "shortcut.bn.", 1, stride, 0)
            node("Add", [main_out, shortcut])
            node("Relu", [current])
            channels = layer["out"]
        elif kind == "batchNorm":
            node("BatchNormalization", [current, const(p + "weight", w[p + "weight"]), const(p + "bias", w[p + "bias"]),
                                        const(p + "running_mean", w[p + "running_mean"]),
                                        const(p + "running_var", w[p + "running_var"])], epsilon=BN_EPS)
        elif kind == "relu":
            node("Relu", [current])
        elif kind == "maxPool":
            node("MaxPool", [current], kernel_shape=[layer["kernel"]] * 2, strides=[layer["stride"]] * 2,
                 pads=[layer["padding"]] * 4)
        elif kind == "globalAvgPool":
            node("GlobalAveragePool", [current])
            node("Flatten", [current], axis=1)
        elif kind == "flatten":
            node("Flatten", [current], axis=1)
        elif kind == "dense":
            if i == len(layers) - 1:  # the classifier head: its input is the embedding
                nodes.append(helper.make_node("Identity", [current], ["embedding"], name="Embedding"))
                current = "embedding"
            node("Gemm", [current, const(p + "weight", w[p + "weight"]), const(p + "bias", w[p + "bias"])], transB=1)
        i += 1
    nodes.append(helper.make_node("Softmax", [current], ["probabilities"], name="Softmax", axis=1))
    embedding_size = w[f"layers.{len(layers) - 1}.weight"].shape[1]

    graph = helper.make_graph(
        nodes, spec["name"],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", inp["channels"], height, width])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(spec["labels"])]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", embedding_size])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="boundary-bench")
    model.ir_version = 8  # opset 17's IR version; readable by any onnxruntime ≥ 1.13
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=pathlib.Path, default=ROOT / "Sources/DefaultModel/scene-s-demo")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "bench/out/scene-s.onnx")
    ap.add_argument("--samples", type=int, default=4, help="random inputs for the verification")
    ap.add_argument("--verify-size", type=int, help="verify on SIZE×SIZE inputs instead of the spec's size")
    args = ap.parse_args()

    spec, layers, weights = load_model(args.model)
    model = build_onnx(spec, layers, weights)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))

    inp = spec["input"]
    height, width = (args.verify_size,) * 2 if args.verify_size else (inp["height"], inp["width"])
    x = np.random.default_rng(0).standard_normal((args.samples, inp["channels"], height, width)).astype(np.float32)
    if args.verify_size:  # the same graph and weights, declared at the smaller size
        checked = build_onnx(spec, layers, weights, size=args.verify_size).SerializeToString()
    else:
        checked = str(args.out)
    session = ort.InferenceSession(checked, providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"image": x})[0]
    want = reference_forward(layers, weights, x, len(spec["labels"]))
    diff = float(np.abs(got - want).max())
    print(f"wrote {args.out} ({len(model.graph.node)} nodes, opset 17)")
    print(f"verification: max |p_onnx - p_numpy| = {diff:.2e} over {args.samples} random {height}x{width} inputs "
          f"(top-1 agrees: {bool((got.argmax(1) == want.argmax(1)).all())})")
    if diff >= 1e-4:
        sys.exit("export_onnx: ONNX output differs from the NumPy reference by 1e-4 or more")


if __name__ == "__main__":
    main()
