#!/usr/bin/env python3
"""onnxruntime's own time per node, to set beside Boundary's per-layer figures.

    python3 bench/ort_layer_profile.py [--model bench/out/resnet18.onnx] [--threads 2] [--batch 1] [--calls 100]

Runs the model with onnxruntime's profiler on (same session options as engine_peers.py: the given
intra-op threads, inter-op 1, sequential, all graph optimisations), after 30 warm-up calls, and
prints each node's mean kernel time over `--calls` calls with its op type and output shape, then
their sum and the wall-clock mean per call. Run `bench/run-engine-bench` first (it exports
out/resnet18.onnx and out/scene-s.onnx). The profiler's JSON goes to a temporary directory.
"""
import argparse
import collections
import json
import os
import tempfile
import time

import numpy as np
import onnxruntime as ort


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(here, "out", "resnet18.onnx"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    if not os.path.exists(args.model):
        raise SystemExit(f"{args.model} does not exist: run bench/run-engine-bench first (it exports the models)")

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.TemporaryDirectory() as directory:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(directory, "ort")
        session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        feed_name = session.get_inputs()[0].name
        shape = [args.batch] + [int(d) for d in session.get_inputs()[0].shape[1:]]
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        for _ in range(30):
            session.run(None, {feed_name: x})
        start = time.perf_counter()
        for _ in range(args.calls):
            session.run(None, {feed_name: x})
        wall = (time.perf_counter() - start) / args.calls
        with open(session.end_profiling()) as f:
            events = json.load(f)

    # The profile covers the warm-up calls too: average every node over all its runs.
    total = collections.OrderedDict()
    runs = collections.Counter()
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith("_kernel_time"):
            continue
        detail = event.get("args", {})
        shapes = [list(s.values())[0] for s in detail.get("output_type_shape", []) if s]
        key = (name[: -len("_kernel_time")], detail.get("op_name", "?"), str(shapes[0]) if shapes else "")
        total[key] = total.get(key, 0) + event["dur"]
        runs[key] += 1
    print(f"# onnxruntime {ort.__version__}, {os.path.basename(args.model)}, batch {args.batch}, "
          f"{args.threads} intra-op threads, mean of {args.calls} calls after 30 warm-up")
    summed = 0.0
    for key, microseconds in total.items():
        mean = microseconds / runs[key] / 1000
        summed += mean
        print(f"{key[0]:40s} {key[1]:20s} {key[2]:22s} {mean:7.3f} ms")
    print(f"sum of nodes {summed:.3f} ms; wall clock {wall * 1000:.3f} ms per call")


if __name__ == "__main__":
    main()
