#!/usr/bin/env python3
"""Writes a Boundary model directory with deterministic random weights for a built-in architecture.

There are no committed resnet18 weights, and making them with `boundary` would mean running Swift,
so this builds the checkpoint in Python: spec.json and labels.txt as ModelDirectory.write does, and
model.safetensors with every tensor Network declares for the spec — under the same names
(`layers.0.weight`, `layers.4.conv1.weight`, `layers.4.bn1.running_var`,
`layers.6.shortcut.conv.weight`, …), shapes and dtype (F32), and the spec as JSON under the
`boundary.spec` metadata key — so `boundary` can load the directory like one it wrote itself.

Weights are seeded: He-normal convolutions and dense weights as Network.initializeParameters does
(std √(2/fan_in) for convs, √(1/fan_in) for dense, zero biases), but BatchNorm is *not* the identity:
gamma, beta and the running statistics are drawn at random (gamma ∈ [0.5, 1], |beta| ≤ 0.1,
|mean| ≤ 0.1, var ∈ [0.5, 2]) so export_onnx.py's check exercises the BatchNorm fold. Timings do
not depend on the values.

The specs mirror ModelSpec.sceneS / ModelSpec.resnet18 (Sources/NeuralNet/ModelSpec.swift); the
labels are those `boundary bench engine` uses (class0…class9 for scene-s, c0…c999 for resnet18).

    python3 bench/make_random_model.py resnet18 [--out bench/out/resnet18] [--seed 2]
"""
import argparse
import json
import pathlib

import numpy as np
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_INPUT = {"channels": 3, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": "centerCrop"}


def conv(out, kernel, stride=1, padding=None):
    return {"type": "conv", "out": out, "kernel": kernel, "stride": stride,
            "padding": kernel // 2 if padding is None else padding, "bias": False}


def scene_s_spec():
    def block(c):
        return [conv(c, 3), {"type": "batchNorm"}, {"type": "relu"}]
    pool = {"type": "maxPool", "kernel": 2, "stride": 2, "padding": 0}
    layers = block(32) + block(32) + [pool] + block(64) + block(64) + [pool] + block(128) + block(128) \
        + [{"type": "globalAvgPool"}, {"type": "dense"}]
    return {"name": "scene-s", "input": dict(DEFAULT_INPUT, height=64, width=64), "layers": layers,
            "labels": [f"class{i}" for i in range(10)]}


def resnet18_spec():
    layers = [conv(64, 7, stride=2, padding=3), {"type": "batchNorm"}, {"type": "relu"},
              {"type": "maxPool", "kernel": 3, "stride": 2, "padding": 1}]
    for stage, channels in enumerate([64, 128, 256, 512]):
        layers.append({"type": "residual", "out": channels, "stride": 1 if stage == 0 else 2})
        layers.append({"type": "residual", "out": channels, "stride": 1})
    layers += [{"type": "globalAvgPool"}, {"type": "dense"}]
    return {"name": "resnet18", "input": dict(DEFAULT_INPUT, height=224, width=224), "layers": layers,
            "labels": [f"c{i}" for i in range(1000)]}


SPECS = {"scene-s": scene_s_spec, "resnet18": resnet18_spec}


def declared_tensors(spec):
    """(name, shape, kind) of every tensor Network registers for `spec`, in registration order."""
    tensors = []
    channels, height, width = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    flat = False

    def out_size(size, kernel, stride, padding):
        return (size + 2 * padding - kernel) // stride + 1

    def bn(prefix, c):
        tensors.extend([(prefix + "weight", [c], "gamma"), (prefix + "bias", [c], "beta"),
                        (prefix + "running_mean", [c], "mean"), (prefix + "running_var", [c], "var")])

    for i, layer in enumerate(spec["layers"]):
        p, kind = f"layers.{i}.", layer["type"]
        if kind == "conv":
            k, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", layer["kernel"] // 2)
            tensors.append((p + "weight", [layer["out"], channels, k, k], "conv"))
            if layer.get("bias", False):
                tensors.append((p + "bias", [layer["out"]], "zero"))
            channels, height, width = layer["out"], out_size(height, k, s, pad), out_size(width, k, s, pad)
        elif kind == "batchNorm":
            bn(p, channels)
        elif kind == "maxPool":
            k, s, pad = layer["kernel"], layer.get("stride", layer["kernel"]), layer.get("padding", 0)
            height, width = out_size(height, k, s, pad), out_size(width, k, s, pad)
        elif kind == "residual":
            out, s = layer["out"], layer.get("stride", 1)
            tensors.append((p + "conv1.weight", [out, channels, 3, 3], "conv"))
            bn(p + "bn1.", out)
            tensors.append((p + "conv2.weight", [out, out, 3, 3], "conv"))
            bn(p + "bn2.", out)
            if s != 1 or channels != out:
                tensors.append((p + "shortcut.conv.weight", [out, channels, 1, 1], "conv"))
                bn(p + "shortcut.bn.", out)
            channels, height, width = out, out_size(height, 3, s, 1), out_size(width, 3, s, 1)
        elif kind in ("globalAvgPool", "flatten"):
            channels = channels if kind == "globalAvgPool" or flat else channels * height * width
            flat = True
        elif kind == "dense":
            outputs = layer.get("out") or len(spec["labels"])
            tensors.extend([(p + "weight", [outputs, channels], "dense"), (p + "bias", [outputs], "zero")])
            channels = outputs
        # relu, dropout: no tensors
    return tensors


def random_weights(spec, seed):
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape, kind in declared_tensors(spec):
        if kind == "conv":
            value = rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[1:]))
        elif kind == "dense":
            value = rng.standard_normal(shape) * np.sqrt(1 / shape[1])
        elif kind == "gamma":
            value = rng.uniform(0.5, 1.0, shape)
        elif kind in ("beta", "mean"):
            value = rng.uniform(-0.1, 0.1, shape)
        elif kind == "var":
            value = rng.uniform(0.5, 2.0, shape)
        else:
            value = np.zeros(shape)
        weights[name] = np.ascontiguousarray(value, dtype=np.float32)
    return weights


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arch", choices=sorted(SPECS))
    ap.add_argument("--out", type=pathlib.Path, help="model directory (default bench/out/ARCH)")
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args()
    out = args.out or ROOT / "bench/out" / args.arch
    spec = SPECS[args.arch]()
    weights = random_weights(spec, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    spec_json = json.dumps(spec, indent=2, sort_keys=True)  # ModelSpec.jsonData: pretty, sorted keys
    (out / "spec.json").write_text(spec_json)
    (out / "labels.txt").write_text("\n".join(spec["labels"]) + "\n")
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt", "boundary.spec": spec_json})
    count = sum(v.size for v in weights.values())
    print(f"wrote {out} ({args.arch}, {len(weights)} tensors, {count:,} parameters, seed {args.seed})")


if __name__ == "__main__":
    main()
