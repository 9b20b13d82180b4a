#!/usr/bin/env python3
"""Where a Predict's time goes, per request: the serving-tail breakdown for the engine issue.

Sends the benchmark request (bench/out/body.bin) to a running server from `concurrency` client
threads, closed loop, and splits each request's wall time (as this client sees it) into what the
server reports in the reply (`decode_ms`: hashing + JPEG decode + preprocessing; `inference_ms`:
from joining the batch queue to the result, so batch waiting included) and the rest (transport,
the gRPC stacks, the hand-offs between the event loop, the decode worker and back). For each part
it prints p50, p90, p99 and max, so a tail can be traced to the part whose own tail makes it.

    python3 bench/serve_tail.py --target 127.0.0.1:50051 [--concurrency 1,8] [--requests 1000]

The client shares the machine with the server: its own time is in "rest" (measured alone in the
`--loopback-floor` line: the same client against a gRPC health check).
"""
import argparse
import pathlib
import threading
import time

import grpc
import numpy as np

from protos import health_pb2, health_pb2_grpc, inference_pb2, inference_pb2_grpc

HERE = pathlib.Path(__file__).resolve().parent


def percentiles(values):
    a = np.asarray(values)
    return {name: float(np.percentile(a, q)) for name, q in (("p50", 50), ("p90", 90), ("p99", 99))} | {"max": float(a.max())}


def run(stub, request, concurrency, requests, metadata):
    rows, lock = [], threading.Lock()
    per_thread = max(1, requests // concurrency)

    def client():
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            reply = stub.Predict(request, timeout=30, metadata=metadata)
            total = (time.perf_counter() - start) * 1e3
            mine.append((total, reply.decode_ms, reply.inference_ms, total - reply.decode_ms - reply.inference_ms,
                         reply.batch_size))
        with lock:
            rows.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows, time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, metavar="HOST:PORT")
    ap.add_argument("--token", default="")
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--body", type=pathlib.Path, default=HERE / "out" / "body.bin")
    args = ap.parse_args()
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    request = inference_pb2.PredictRequest.FromString(args.body.read_bytes()[5:])
    channel = grpc.insecure_channel(args.target)
    stub = inference_pb2_grpc.InferenceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    floor = []
    for _ in range(300):
        start = time.perf_counter()
        health.Check(health_pb2.HealthCheckRequest(), timeout=10, metadata=metadata)
        floor.append((time.perf_counter() - start) * 1e3)
    f = percentiles(floor)
    print(f"loopback floor (health check round trip): p50 {f['p50']:.2f} ms, p99 {f['p99']:.2f} ms")
    print("| concurrency | part | p50 ms | p90 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        run(stub, request, concurrency, args.warmup, metadata)
        rows, seconds = run(stub, request, concurrency, args.requests, metadata)
        columns = list(zip(*rows))
        for name, values in zip(("total (client)", "decode", "inference (with batch wait)", "rest"), columns[:4]):
            p = percentiles(values)
            print(f"| {concurrency} | {name} | {p['p50']:.2f} | {p['p90']:.2f} | {p['p99']:.2f} | {p['max']:.2f} |")
        print(f"| {concurrency} | {len(rows) / seconds:.1f} req/s, mean batch {np.mean(columns[4]):.2f} | | | | |")


if __name__ == "__main__":
    main()
