#!/usr/bin/env python3
"""Engine peers for `boundary bench engine`: onnxruntime inference and Keras/TF training, timed the same way.

Figures, one per line in Boundary's `NAME: VALUE UNIT` format, named as `boundary bench engine`
names them (Sources/BoundaryCLI/Bench/EngineBench.swift) with the peer's name in front, so a script
can pair them:

    onnxruntime scene-s infer batch=32 threads=T: … img/s
    onnxruntime scene-s infer latency batch=1 threads=T: … ms
    onnxruntime resnet18 infer latency batch=1 threads=T: … ms
    onnxruntime resnet18 infer batch=32 threads=T: … img/s     (Boundary does not time this one)
    keras scene-s train adamw batch=32 threads=T: … img/s

Timing is Measure.secondsPerCall (Sources/BoundaryCLI/Bench/Measure.swift): one warm-up call, then
the median over 5 rounds (training: 3 rounds of twice the round time) of at least --round-seconds
each, on the monotonic clock (or process CPU time with --cpu-time, like `boundary bench engine
--cpu-time`). Values are rounded as Boundary's report() rounds them. Lines starting with `#`
describe the setup.

onnxruntime: the models are exported from our own weights by export_onnx.py — scene-s from
Sources/DefaultModel/scene-s-demo; resnet18 from the seeded random checkpoint make_random_model.py
writes in Boundary's checkpoint format (no resnet18 weights are committed; timing does not depend
on the values). BatchNorm is folded into the convolutions and a Softmax ends the graph, as in
Boundary's inference model. Session: intra-op threads = T, inter-op threads 1, sequential
execution, all graph optimisations. The input is NCHW float, filled as EngineBench fills it.

Keras/TF: scene-s built from Sources/DefaultModel/scene-s-demo/spec.json, channels_last (NHWC;
TensorFlow's CPU kernels do not take NCHW), 64×64×3 input, trained with `train_on_batch` on seeded
normal inputs and labels i mod 10, batch 32. Optimizer and loss mirror Boundary's training bench
(Trainer with OptimizerConfig(kind: .adamW(), learningRate: 1e-3)): AdamW lr 1e-3, β 0.9/0.999,
ε 1e-8, decoupled weight decay 1e-4 on conv and dense kernels only (not biases or BatchNorm), no
clipping, constant schedule; mean softmax cross-entropy from logits without label smoothing;
BatchNorm momentum 0.9 in Keras terms (PyTorch's 0.1) and ε 1e-5; He-normal conv kernels. Each
thread count runs in its own process, because tf.config.threading must be set before TensorFlow
runs any op: intra-op threads = T, inter-op threads 1. No XLA (jit_compile=False, as Keras's "auto"
resolves on a CPU-only machine); oneDNN as the installed TensorFlow defaults.

Where the Keras peer differs from Boundary's training step (none of it changes the work per step):
  - layout NHWC (Boundary: activations [C, N, H, W], input NCHW);
  - Keras's Adam adds ε to √v rather than to √v̂ (ε̂ = ε·√(1−β₂ᵗ)), and applies the decoupled decay
    w −= lr·wd·w before the Adam step instead of from the same old w;
  - Keras's BatchNormalization updates the moving variance with the biased batch variance
    (Boundary, like PyTorch, the unbiased one);
  - Keras's he_normal / lecun_normal draw from a truncated normal (Boundary: a plain normal), and
    from a different generator, so the weights differ;
  - train_on_batch returns the loss to Python each step (Boundary's step returns it too).

    python3 bench/engine_peers.py [--threads 1,2] [--round-seconds 0.25] [--only infer,train,resnet18] [--cpu-time]
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
SCENE_S_MODEL = ROOT / "Sources/DefaultModel/scene-s-demo"

# OptimizerConfig defaults (Sources/NeuralNet/Optimizer.swift) with EngineBench's learning rate.
LEARNING_RATE, BETA1, BETA2, ADAM_EPSILON, WEIGHT_DECAY = 1e-3, 0.9, 0.999, 1e-8, 1e-4
BN_MOMENTUM, BN_EPSILON = 0.1, 1e-5  # BatchNorm2D.swift (PyTorch convention)
TRAIN_BATCH = 32

use_cpu_time = False


def now():
    return time.process_time() if use_cpu_time else time.perf_counter()


def seconds_per_call(body, rounds=5, minimum_seconds=0.25):
    """Measure.secondsPerCall: warm-up call, then the median of `rounds` rounds of ≥ minimum_seconds."""
    body()
    samples = []
    for _ in range(rounds):
        calls, start = 0, now()
        while True:
            body()
            calls += 1
            elapsed = now() - start
            if elapsed >= minimum_seconds:
                break
        samples.append(elapsed / calls)
    return sorted(samples)[len(samples) // 2]


def formatted(value, digits):
    """Boundary's formatted(_:digits:): round half away from zero, then the shortest repr."""
    scale = 10.0 ** digits
    scaled = value * scale
    whole = math.trunc(scaled)
    if abs(scaled - whole) == 0.5:  # Swift's .rounded(): ties away from zero (Python's round: to even)
        whole += int(math.copysign(1, scaled))
    else:
        whole = round(scaled)
    rounded = whole / scale
    return str(int(rounded)) if digits == 0 else repr(float(rounded))


def report(name, value, unit, digits=1):
    print(f"{name}: {formatted(value, digits)} {unit}", flush=True)


# --- onnxruntime ---------------------------------------------------------------------------------

def ensure_onnx(name):
    """bench/out/NAME.onnx, exported (and verified) first if missing; export output goes to stderr."""
    path = OUT / f"{name}.onnx"
    if path.exists():
        return path
    python = sys.executable
    if name == "scene-s":
        steps = [[python, BENCH / "export_onnx.py", "--model", SCENE_S_MODEL, "--out", path]]
    else:
        steps = [[python, BENCH / "make_random_model.py", name, "--out", OUT / name],
                 [python, BENCH / "export_onnx.py", "--model", OUT / name, "--out", path]]
    for step in steps:
        subprocess.run([str(arg) for arg in step], check=True, stdout=sys.stderr)
    return path


def ort_session(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def ort_figures(model, name, batch, threads, round_seconds):
    """EngineBench.inferenceFigures for an onnxruntime session."""
    import numpy as np
    session = ort_session(model, threads)
    shape = session.get_inputs()[0].shape  # ["N", C, H, W]
    size = int(np.prod(shape[1:]))
    # EngineBench: input[i] = Float(i % 17) * 0.05 - 0.4
    x = ((np.arange(batch * size) % 17).astype(np.float32) * np.float32(0.05) - np.float32(0.4))
    feed = {session.get_inputs()[0].name: x.reshape([batch] + list(shape[1:]))}
    seconds = seconds_per_call(lambda: session.run(["probabilities"], feed), minimum_seconds=round_seconds)
    if batch == 1:
        report(f"onnxruntime {name} infer latency batch=1 threads={threads}", seconds * 1000, "ms", digits=2)
    else:
        report(f"onnxruntime {name} infer batch={batch} threads={threads}", batch / seconds, "img/s")


# --- Keras/TF ------------------------------------------------------------------------------------

def keras_model(spec, keras):
    """The spec's layer stack as a Keras model, channels_last."""
    inp = spec["input"]
    x = inputs = keras.Input((inp["height"], inp["width"], inp["channels"]), name="image")
    for i, layer in enumerate(spec["layers"]):
        kind, name = layer["type"], f"layers.{i}"
        if kind == "conv":
            kernel, stride = layer["kernel"], layer.get("stride", 1)
            padding = layer.get("padding", kernel // 2)
            if stride == 1 and 2 * padding == kernel - 1:
                mode = "same"
            else:
                if padding:
                    x = keras.layers.ZeroPadding2D(padding)(x)
                mode = "valid"
            x = keras.layers.Conv2D(layer["out"], kernel, strides=stride, padding=mode,
                                    use_bias=layer.get("bias", False), kernel_initializer="he_normal", name=name)(x)
        elif kind == "batchNorm":
            x = keras.layers.BatchNormalization(momentum=1 - BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)
        elif kind == "relu":
            x = keras.layers.ReLU(name=name)(x)
        elif kind == "maxPool":
            if layer.get("padding", 0):
                raise SystemExit("engine_peers: padded maxPool has no exact Keras equivalent")
            x = keras.layers.MaxPooling2D(layer["kernel"], strides=layer.get("stride", layer["kernel"]), name=name)(x)
        elif kind == "globalAvgPool":
            x = keras.layers.GlobalAveragePooling2D(name=name)(x)
        elif kind == "flatten":
            x = keras.layers.Flatten(name=name)(x)
        elif kind == "dropout":
            x = keras.layers.Dropout(layer["rate"], name=name)(x)
        elif kind == "dense":
            x = keras.layers.Dense(layer.get("out") or len(spec["labels"]), kernel_initializer="lecun_normal",
                                   name=name)(x)
        else:
            raise SystemExit(f"engine_peers: layer type {kind} is not built for Keras here")
    return keras.Model(inputs, x, name=spec["name"])


def keras_worker(threads, round_seconds):
    """One `keras … threads=T` figure; runs in a process of its own (threading is set once, first)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import numpy as np

    spec = json.loads((SCENE_S_MODEL / "spec.json").read_text())
    keras.utils.set_random_seed(3)
    model = keras_model(spec, keras)
    optimizer = keras.optimizers.AdamW(learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, beta_1=BETA1,
                                       beta_2=BETA2, epsilon=ADAM_EPSILON)
    # Boundary decays conv and dense weights only: Keras names them "kernel"; biases, gamma, beta are excluded.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    inp = spec["input"]
    x = np.random.default_rng(4).standard_normal(
        (TRAIN_BATCH, inp["height"], inp["width"], inp["channels"])).astype(np.float32)
    y = (np.arange(TRAIN_BATCH) % len(spec["labels"])).astype(np.int32)
    seconds = seconds_per_call(lambda: model.train_on_batch(x, y), rounds=3, minimum_seconds=round_seconds * 2)
    report(f"keras scene-s train adamw batch={TRAIN_BATCH} threads={threads}", TRAIN_BATCH / seconds, "img/s")


def versions():
    """A `#` line naming the peers' versions (read from the installed distributions, not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(*names):
        for name in names:
            try:
                return f"{name} {version(name)}"
            except PackageNotFoundError:
                pass
        return f"{names[0]} not installed"
    parts = [installed("onnxruntime"), installed("tensorflow-cpu", "tensorflow"), installed("keras"), installed("numpy")]
    return f"# peers: {', '.join(parts)}, python {sys.version.split()[0]}"


def main():
    global use_cpu_time
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="thread counts (comma-separated), as `boundary bench engine`")
    ap.add_argument("--round-seconds", type=float, default=0.25, help="seconds per timed round (5 rounds, median)")
    ap.add_argument("--only", default="infer,train,resnet18", help="sections: infer, train, resnet18")
    ap.add_argument("--cpu-time", action="store_true", help="time with process CPU time instead of wall time")
    ap.add_argument("--keras-worker", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    use_cpu_time = args.cpu_time
    if args.keras_worker:
        keras_worker(args.keras_worker, args.round_seconds)
        return
    sections = set(args.only.split(","))
    threads = [t for t in (int(s) for s in args.threads.split(",") if s) if t > 0]
    print(versions(), flush=True)
    # The same order as `boundary bench engine`: scene-s inference per thread count, training, resnet18.
    if "infer" in sections:
        scene_s = ensure_onnx("scene-s")
        for t in threads:
            ort_figures(scene_s, "scene-s", 32, t, args.round_seconds)
            ort_figures(scene_s, "scene-s", 1, t, args.round_seconds)
    if "train" in sections:
        for t in threads:
            worker = [sys.executable, __file__, "--keras-worker", str(t), "--round-seconds", str(args.round_seconds)]
            subprocess.run(worker + (["--cpu-time"] if args.cpu_time else []), check=True)
    if "resnet18" in sections:
        resnet18 = ensure_onnx("resnet18")
        for t in threads:
            ort_figures(resnet18, "resnet18", 1, t, args.round_seconds)
            ort_figures(resnet18, "resnet18", 32, t, args.round_seconds)


if __name__ == "__main__":
    main()
