#!/usr/bin/env python3
"""Serving benchmark: Boundary against the Python peer (bench/peer_server.py), same machine, same run.

For each target — Boundary at --boundary HOST:PORT when given, and the peer, which this script
starts on a free port and stops at the end — it

  1. sends the benchmark request once with grpcio and checks the reply (status OK, image_id is the
     JPEG's SHA-256, top_k labels sorted, margin = top-1 − top-2);
  2. runs h2load at each concurrency with a warm-up, then a timed run, POSTing the pre-framed gRPC
     body (bench/make_request.py) to /boundary.v1.Inference/Predict; req/s comes from h2load, p50/p99
     from the per-request response times in its --log-file (warm-up requests are not logged), and
     errors are log rows whose HTTP status is not 200 (-1 = failed stream);
  3. sends the request with grpcio again and checks grpc-status, because h2load sees only the HTTP
     status: a gRPC error still arrives as HTTP 200 with grpc-status in the trailers.

Concurrency is the number of outstanding requests: h2load -c CONNECTIONS -m STREAMS with
CONNECTIONS = min(concurrency, --max-connections) and STREAMS = concurrency / CONNECTIONS, so 1 → 1×1,
8 → 4×2, 32 → 4×8 by default. gRPC clients multiplex calls over few long-lived HTTP/2 connections (one
per channel), so 32 connections of one stream each would not be a realistic load; four connections,
twice the core count of the 2-core benchmark machine, still let a server that serves each connection
on one event-loop thread use every core.

With --rounds N the targets take turns N times (the order alternating each round): each ratio is
then the median of the N rounds' own ratios, listed after it in run order, because this benchmark's
machines drift in speed over minutes and a pair measured back to back is the fair comparison.

    python3 bench/serve_bench.py [--boundary 127.0.0.1:50051] [--duration 10] [--concurrency 1,8,32] [--rounds 1]

Results are printed as Markdown and written to bench/out/serve-bench.md (and .json).
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import socket
import subprocess
import sys
import time

import grpc
import numpy as np

from protos import health_pb2, health_pb2_grpc, inference_pb2, inference_pb2_grpc

HERE = pathlib.Path(__file__).resolve().parent
PATH = "/boundary.v1.Inference/Predict"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_busy(seconds=2.0):
    """Fraction of all CPU time spent busy over a short sample (/proc/stat): other load skews results."""
    def sample():
        fields = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    (t0, i0), _, (t1, i1) = sample(), time.sleep(seconds), sample()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def settle(timeout, quiet=0.1):
    """Waits until the machine is under `quiet` busy (1 s samples) or `timeout` s have passed:
    (seconds waited, the last sample)."""
    start = time.monotonic()
    busy = cpu_busy(1.0)
    while busy > quiet and time.monotonic() - start < timeout:
        busy = cpu_busy(1.0)
    return time.monotonic() - start, busy


def machine_info():
    cpu = "unknown CPU"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    h2load = subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip()
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "nproc": os.cpu_count(),
            "cpu": cpu, "kernel": platform.release(), "python": platform.python_version(), "h2load": h2load}


class Target:
    def __init__(self, name, address, token=""):
        self.name, self.address = name, address
        self.metadata = [("authorization", f"Bearer {token}")] if token else []
        self.channel = grpc.insecure_channel(address)
        self.stub = inference_pb2_grpc.InferenceStub(self.channel)

    def wait_healthy(self, timeout, process=None):
        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                sys.exit(f"serve_bench: {self.name} exited with status {process.returncode} while starting")
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1, metadata=self.metadata)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
        sys.exit(f"serve_bench: {self.name} at {self.address} was not SERVING within {timeout:.0f} s")

    def sanity_check(self, request, when):
        """One Predict through grpcio; exits unless grpc-status is OK and the reply is sane."""
        try:
            reply = self.stub.Predict(request, timeout=10, metadata=self.metadata)
        except grpc.RpcError as error:
            sys.exit(f"serve_bench: {self.name} {when}: grpc-status {error.code().name}: {error.details()}")
        scores = [label.score for label in reply.labels]
        problems = []
        if reply.image_id != hashlib.sha256(request.image).hexdigest():
            problems.append("image_id is not the SHA-256 of the image")
        if len(scores) != request.top_k or scores != sorted(scores, reverse=True):
            problems.append(f"expected {request.top_k} labels sorted by score, got {scores}")
        if len(scores) >= 2 and abs(reply.margin - (scores[0] - scores[1])) > 1e-5:
            problems.append(f"margin {reply.margin} is not top-1 minus top-2")
        if problems:
            sys.exit(f"serve_bench: {self.name} {when}: bad reply: {'; '.join(problems)}")
        print(f"  {when}: grpc-status OK, {reply.labels[0].label} {scores[0]:.3f}, margin {reply.margin:.3f}, "
              f"server decode {reply.decode_ms:.2f} ms + inference {reply.inference_ms:.2f} ms")


def shape_for(concurrency, max_connections):
    connections = min(concurrency, max_connections)
    if concurrency % connections:
        sys.exit(f"serve_bench: concurrency {concurrency} is not a multiple of {connections} connections")
    return connections, concurrency // connections


def run_h2load(target, concurrency, args, log_file):
    connections, streams = shape_for(concurrency, args.max_connections)
    command = ["h2load", "-c", str(connections), "-m", str(streams), "-D", str(args.duration),
               "--warm-up-time", str(args.warmup), "-d", str(args.body),
               "-H", "content-type: application/grpc", "-H", "te: trailers", "--log-file", str(log_file)]
    for key, value in target.metadata:
        command += ["-H", f"{key}: {value}"]
    command.append(f"http://{target.address}{PATH}")
    log_file.unlink(missing_ok=True)  # h2load appends to --log-file: a stale log would pool earlier runs
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"serve_bench: h2load failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", result.stdout)
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", result.stdout)
    rows = np.loadtxt(log_file, dtype=np.int64, ndmin=2) if log_file.stat().st_size else np.zeros((0, 3), np.int64)
    ok = rows[rows[:, 1] == 200]
    times_ms = ok[:, 2] / 1000.0
    return {
        "target": target.name, "concurrency": concurrency, "connections": connections, "streams": streams,
        "requests": int(len(rows)),
        "req_per_s": float(rate.group(1)) if rate else len(ok) / args.duration,
        "p50_ms": float(np.percentile(times_ms, 50)) if len(ok) else float("nan"),
        "p99_ms": float(np.percentile(times_ms, 99)) if len(ok) else float("nan"),
        "errors": int(len(rows) - len(ok)),
        "h2load_failed": sum(int(n) for n in failed.groups()) if failed else None,
    }


def bench_target(target, request, args, round_number):
    print(f"{target.name} ({target.address})" + (f", round {round_number}" if args.rounds > 1 else ""))
    target.sanity_check(request, "first request")
    results = []
    for concurrency in args.concurrency:
        suffix = f"-r{round_number}" if args.rounds > 1 else ""
        log_file = args.out_dir / f"h2load-{target.name.lower()}-c{concurrency}{suffix}.log"
        r = run_h2load(target, concurrency, args, log_file)
        r["round"] = round_number
        print(f"  c={concurrency:<3} ({r['connections']}×{r['streams']}): {r['req_per_s']:8.1f} req/s  "
              f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}")
        results.append(r)
    target.sanity_check(request, "after the runs")
    return results


def markdown(info, results, args, jpeg_size):
    rounds = f", {args.rounds} rounds with the targets alternating which goes first" if args.rounds > 1 else ""
    lines = [
        f"## Serving benchmark — {info['date']}",
        "",
        f"Machine: {info['cpu']}, nproc {info['nproc']}, Linux {info['kernel']}; "
        f"{info['h2load']}, Python {info['python']}. CPU busy with the targets idle, before the runs (other load): "
        f"{info['busy_before']:.0%}, after waiting {info['settle_s']:.0f} s for it to settle.",
        f"Request: one {jpeg_size / 1024:.1f} KiB 640×480 JPEG (quality 90), model scene-s, top_k 5. "
        f"Each run: {args.warmup} s warm-up, then {args.duration} s measured{rounds}; concurrency = outstanding requests "
        f"= h2load connections × streams per connection. Peer: grpcio sync server, {args.workers} worker threads, "
        "onnxruntime with 1 intra-op and 1 inter-op thread, Pillow decode.",
        "",
    ]
    columns = ["target", *(["round"] if args.rounds > 1 else []), "concurrency", "connections × streams", "req/s",
               "p50 ms", "p99 ms", "errors"]
    lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in sorted(results, key=lambda r: (r["target"] != "Boundary", r["round"], r["concurrency"])):
        round_cell = f"{r['round']} | " if args.rounds > 1 else ""
        lines.append(f"| {r['target']} | {round_cell}{r['concurrency']} | {r['connections']} × {r['streams']} | "
                     f"{r['req_per_s']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
    by_key = {(r["target"], r["round"], r["concurrency"]): r for r in results}
    if any(r["target"] == "Boundary" for r in results) and any(r["target"] == "peer" for r in results):
        lines += ["", "| concurrency | req/s Boundary/peer | p50 Boundary/peer | p99 Boundary/peer |",
                  "| --- | --- | --- | --- |"]
        for c in args.concurrency:
            pairs = [(by_key[("Boundary", n, c)], by_key[("peer", n, c)]) for n in range(1, args.rounds + 1)]
            cells = [ratio_cell([b[key] / p[key] for b, p in pairs]) for key in ("req_per_s", "p50_ms", "p99_ms")]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "errors = h2load log rows whose HTTP status is not 200. h2load cannot see grpc-status (a gRPC "
              "error is still HTTP 200, with the status in the trailers); a grpcio request before and after each "
              "target's runs checked grpc-status OK and a sane reply."]
    return "\n".join(lines) + "\n"


def ratio_cell(ratios):
    """One round's ratio, or the median of several rounds' ratios followed by each, in run order."""
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}×"
    return f"{float(np.median(ratios)):.2f}× ({', '.join(f'{r:.2f}' for r in ratios)})"


def main():
    ap = argparse.ArgumentParser(description="Serving benchmark: Boundary vs the Python peer, with h2load.")
    ap.add_argument("--boundary", metavar="HOST:PORT", help="a running `boundary serve`; omitted: peer only")
    ap.add_argument("--token", default="", help="bearer token for Boundary")
    ap.add_argument("--no-peer", action="store_true", help="benchmark only --boundary")
    ap.add_argument("--workers", type=int, default=4, help="peer thread-pool size")
    ap.add_argument("--duration", type=int, default=10, help="measured seconds per run (h2load -D)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    ap.add_argument("--concurrency", default="1,8,32", help="comma-separated outstanding-request counts")
    ap.add_argument("--max-connections", type=int, default=4, help="HTTP/2 connections at high concurrency")
    ap.add_argument("--out-dir", type=pathlib.Path, default=HERE / "out")
    ap.add_argument("--rounds", type=int, default=1, help="times the targets take turns (order alternating)")
    ap.add_argument("--settle-timeout", type=float, default=60,
                    help="longest wait, once every target is up, for the machine to go quiet before the runs")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    args.body = args.out_dir / "body.bin"
    if not args.body.exists():
        subprocess.run([sys.executable, str(HERE / "make_request.py"), "--out-dir", str(args.out_dir)], check=True)
    if not args.boundary and args.no_peer:
        ap.error("nothing to benchmark: --no-peer without --boundary")

    body = args.body.read_bytes()
    request = inference_pb2.PredictRequest.FromString(body[5:])  # exactly what h2load sends
    info = machine_info()
    targets, peer = [], None
    if args.boundary:
        target = Target("Boundary", args.boundary, args.token)
        target.wait_healthy(60)
        targets.append(target)
    results = []
    try:
        if not args.no_peer:
            if not (args.out_dir / "scene-s.onnx").exists():
                subprocess.run([sys.executable, str(HERE / "export_onnx.py"), "--out", str(args.out_dir / "scene-s.onnx")],
                               check=True)
            port = free_port()
            peer = subprocess.Popen([sys.executable, str(HERE / "peer_server.py"), "--port", str(port),
                                     "--workers", str(args.workers), "--onnx", str(args.out_dir / "scene-s.onnx")],
                                    stdout=subprocess.DEVNULL)
            target = Target("peer", f"127.0.0.1:{port}")
            target.wait_healthy(30, peer)
            targets.append(target)
        # A server that has just started is still busy for a while (Boundary tunes its convolutions,
        # then embeds the served model's base data for future retrains on one core): wait for the
        # machine to settle, so the first round measures serving, not start-up.
        info["settle_s"], info["busy_before"] = settle(args.settle_timeout)
        if info["busy_before"] > 0.2:
            print(f"serve_bench: warning: the machine was still {info['busy_before']:.0%} busy after "
                  f"{info['settle_s']:.0f} s with every target idle; other load skews the results", file=sys.stderr)
        for round_number in range(1, args.rounds + 1):
            for target in (targets if round_number % 2 else list(reversed(targets))):
                results += bench_target(target, request, args, round_number)
    finally:
        if peer is not None:
            peer.terminate()
            try:
                peer.wait(timeout=15)
            except subprocess.TimeoutExpired:
                peer.kill()

    report = markdown(info, results, args, len(request.image))
    print()
    print(report)
    (args.out_dir / "serve-bench.md").write_text(report)
    (args.out_dir / "serve-bench.json").write_text(json.dumps({"machine": info, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
