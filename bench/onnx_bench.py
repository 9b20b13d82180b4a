#!/usr/bin/env python3
"""Models exported by torch.onnx.export, imported with `boundary import`, checked and timed
against onnxruntime on the same file (bench/run-onnx-bench runs this).

For torchvision's resnet18 (random weights, random BatchNorm statistics) and a small VGG-style
nn.Sequential: export to ONNX (opset 17, eval mode), import, then on the same N random inputs
compare Boundary's probabilities with onnxruntime's (max |Δprob|), and time batch-1 latency at 1
and 2 threads in both (`boundary bench model` for Boundary; median of timed runs for onnxruntime).
Needs torch, torchvision, onnx, onnxruntime and numpy.
"""
import argparse, os, platform, re, subprocess, sys, tempfile, time

import numpy as np
import onnxruntime as ort
import torch
import torchvision

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def randomize_batchnorm(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)


def small_vgg():
    def block(i, o):
        return [torch.nn.Conv2d(i, o, 3, padding=1, bias=False), torch.nn.BatchNorm2d(o), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
    return torch.nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), torch.nn.Flatten(),
                               torch.nn.Linear(128 * 8 * 8, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(256, 10))


def export(model, size, path):
    x = torch.randn(1, 3, size, size)
    kwargs = dict(opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    try:
        torch.onnx.export(model, (x,), path, dynamo=False, **kwargs)
    except TypeError:
        torch.onnx.export(model, (x,), path, **kwargs)


def ort_latency(path, threads, x, runs):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    one = x[:1]
    for _ in range(5):
        session.run(None, {"input": one})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input": one})
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000, session


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(f"# {cpu()}; torch {torch.__version__}, torchvision {torchvision.__version__}, onnxruntime {ort.__version__}")
    torch.manual_seed(0)
    models = [("resnet18", torchvision.models.resnet18(weights=None, num_classes=1000), 224, 1000),
              ("small-vgg", small_vgg(), 64, 10)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, size, classes in models:
            randomize_batchnorm(model, 1)
            model.eval()
            path = os.path.join(tmp, f"{name}.onnx")
            export(model, size, path)
            labels = os.path.join(tmp, f"{name}.labels")
            with open(labels, "w") as f:
                f.write("\n".join(f"class{i}" for i in range(classes)) + "\n")
            directory = os.path.join(tmp, name)
            subprocess.run([args.binary, "import", path, "--labels", labels, "--out", directory,
                            "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD))], check=True)
            x = np.random.default_rng(2).standard_normal((args.images, 3, size, size)).astype(np.float32)
            inputs, outputs = os.path.join(tmp, f"{name}.in"), os.path.join(tmp, f"{name}.out")
            x.astype("<f4").tofile(inputs)
            bench = subprocess.run([args.binary, "bench", "model", directory, "--inputs", inputs, "--probabilities", outputs],
                                   check=True, capture_output=True, text=True).stdout
            ours = np.fromfile(outputs, "<f4").reshape(args.images, classes)
            for threads in (1, 2):
                ms, session = ort_latency(path, threads, x, args.runs)
                match = re.search(rf"infer latency batch=1 threads={threads}: ([0-9.]+) ms", bench)
                boundary_ms = float(match.group(1)) if match else float("nan")
                if threads == 1:
                    logits = np.concatenate([session.run(None, {"input": x[i:i + 50]})[0] for i in range(0, args.images, 50)])
                    z = logits - logits.max(1, keepdims=True)
                    theirs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
                    print(f"{name}: {args.images} inputs, max |Δprob| {np.abs(ours - theirs).max():.2e}, "
                          f"top-1 agreement {np.mean(ours.argmax(1) == theirs.argmax(1)):.3f}")
                print(f"{name} batch=1 threads={threads}: Boundary {boundary_ms:.2f} ms, onnxruntime {ms:.2f} ms, "
                      f"ratio {boundary_ms / ms:.2f}x")
            for line in bench.splitlines():
                if line.startswith("#") or "batch=32" in line:
                    print("  boundary:", line)


if __name__ == "__main__":
    main()
