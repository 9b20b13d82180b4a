#!/usr/bin/env python3
"""HTTP/JSON Predict against gRPC Predict on the same `boundary serve`, same image, same load tool.

h2load drives both: gRPC as serve_bench.py does (pre-framed body over HTTP/2, 4 connections × 2
streams at concurrency 8), HTTP/1.1 with `--h1` (8 connections, one request at a time each, the way
HTTP/1.1 clients run: no pipelining) POSTing the raw JPEG to /v1/predict. Every HTTP reply must be
200 and every gRPC one grpc-status 0 (checked with grpcio before and after). The engine figures come
first, so the page records which kernels ran.

    python3 bench/http_bench.py --grpc 127.0.0.1:50051 --http 127.0.0.1:8080 [--duration 10] [--concurrency 1,8]
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys

import numpy as np

from protos import inference_pb2
from serve_bench import HERE, Target, machine_info, run_h2load


def run_h1(address, concurrency, args, log_file):
    command = ["h2load", "--h1", "-c", str(concurrency), "-m", "1", "-D", str(args.duration),
               "--warm-up-time", str(args.warmup), "-d", str(args.image),
               "-H", "content-type: image/jpeg", "--log-file", str(log_file),
               f"http://{address}/v1/predict?model=scene-s&top_k=5"]
    log_file.unlink(missing_ok=True)  # h2load appends to --log-file: a stale log would pool earlier runs
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"http_bench: h2load failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", result.stdout)
    rows = np.loadtxt(log_file, dtype=np.int64, ndmin=2) if log_file.stat().st_size else np.zeros((0, 3), np.int64)
    ok = rows[rows[:, 1] == 200]
    times = ok[:, 2] / 1000.0
    return {"target": "HTTP/1.1 JSON", "concurrency": concurrency, "connections": concurrency, "streams": 1,
            "requests": int(len(rows)), "req_per_s": float(rate.group(1)) if rate else len(ok) / args.duration,
            "p50_ms": float(np.percentile(times, 50)) if len(ok) else float("nan"),
            "p99_ms": float(np.percentile(times, 99)) if len(ok) else float("nan"),
            "errors": int(len(rows) - len(ok))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--http", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--max-connections", type=int, default=4)
    parser.add_argument("--out-dir", type=pathlib.Path, default=HERE / "out")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.body, args.image = args.out_dir / "body.bin", args.out_dir / "request.jpg"
    info = machine_info()
    print(f"CPU: {info['cpu']}, nproc {info['nproc']}")
    grpc_target = Target("gRPC", args.grpc)
    grpc_target.wait_healthy(60)
    request = inference_pb2.PredictRequest.FromString(args.body.read_bytes()[5:])  # exactly what h2load sends
    grpc_target.sanity_check(request, "first request")
    rows = []
    for concurrency in args.concurrency:
        g = run_h2load(grpc_target, concurrency, args, args.out_dir / f"h2load-grpc-c{concurrency}.log")
        h = run_h1(args.http, concurrency, args, args.out_dir / f"h2load-http-c{concurrency}.log")
        for r in (g, h):
            print(f"  {r['target']:<14} c={concurrency:<3} ({r['connections']}×{r['streams']}): {r['req_per_s']:8.1f} req/s  "
                  f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}")
        rows.append((concurrency, g, h))
    grpc_target.sanity_check(request, "after the runs")
    lines = [f"Machine: {info['cpu']}, nproc {info['nproc']}, Linux {info['kernel']}; {info['h2load']}.",
             f"Request: {args.image.stat().st_size / 1024:.1f} KiB 640×480 JPEG, scene-s, top_k 5; "
             f"{args.warmup} s warm-up, {args.duration} s measured per run.", "",
             "| concurrency | gRPC req/s | HTTP req/s | HTTP / gRPC | gRPC p50 / p99 ms | HTTP p50 / p99 ms | errors (gRPC, HTTP) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for concurrency, g, h in rows:
        lines.append(f"| {concurrency} | {g['req_per_s']:.1f} | {h['req_per_s']:.1f} | {h['req_per_s'] / g['req_per_s']:.2f}× | "
                     f"{g['p50_ms']:.2f} / {g['p99_ms']:.2f} | {h['p50_ms']:.2f} / {h['p99_ms']:.2f} | {g['errors']}, {h['errors']} |")
    text = "\n".join(lines)
    print("\n" + text)
    (args.out_dir / "http-bench.md").write_text(text + "\n")
    (args.out_dir / "http-bench.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2, default=str))
    if any(g["errors"] or h["errors"] for _, g, h in rows):
        sys.exit("http_bench: some requests failed")


if __name__ == "__main__":
    main()
