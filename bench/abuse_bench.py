"""Serving under abuse, measured from a separate client process against a running `boundary serve`:

1. a burst of 64 concurrent 31 MiB Predict uploads (over the 16 MiB limit): every status, and the
   server's resident memory (VmRSS of its PID, sampled every 10 ms) before, at peak and 3 s after;
2. SetServingVersion flipping between two registered versions 20 times: the time each swap takes
   until a Predict answers from the new version, and the server's resident memory after each;
3. client deadlines and cancellations: the codes /metrics records for them.

    python3 bench/abuse_bench.py --server 127.0.0.1:PORT --pid PID --metrics URL --model scene-s
"""
import argparse
import collections
import concurrent.futures as cf
import pathlib
import threading
import time
import urllib.request

import grpc

import protos
from protos import inference_pb2, inference_pb2_grpc, models_pb2, models_pb2_grpc

ROOT = pathlib.Path(__file__).resolve().parent


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, rss_mib(pid), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.01)


def burst(channel, pid, count=64, size=31 << 20):
    call = channel.unary_unary("/boundary.v1.Inference/Predict")
    payload = b"\x01" * size  # shared by every upload; not valid protobuf, and never read by the server

    def one(_):
        start = time.perf_counter()
        try:
            call(payload, timeout=60)
            return "OK", time.perf_counter() - start
        except grpc.RpcError as error:
            return error.code().name, time.perf_counter() - start

    baseline = rss_mib(pid)
    sampler = Sampler(pid)
    sampler.start()
    with cf.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count)))
    sampler.running = False
    sampler.join()
    time.sleep(3)
    codes = collections.Counter(code for code, _ in results)
    slowest = max(seconds for _, seconds in results)
    print(f"burst: {count} x {size >> 20} MiB -> {dict(codes)}; slowest reply {slowest * 1000:.0f} ms")
    print(f"burst_rss_baseline: {baseline:.1f} MiB")
    print(f"burst_rss_peak: {sampler.peak:.1f} MiB")
    print(f"burst_rss_after_3s: {rss_mib(pid):.1f} MiB")


def swaps(channel, pid, model, image, rounds=20):
    models = models_pb2_grpc.ModelsStub(channel)
    inference = inference_pb2_grpc.InferenceStub(channel)
    info = models.GetModel(models_pb2.GetModelRequest(model=model))
    versions = sorted(v.version for v in info.versions)[-2:]
    if len(versions) < 2:
        raise SystemExit("swaps need two registered versions")
    inference.Predict(inference_pb2.PredictRequest(model=model, image=image))
    start_rss = rss_mib(pid)
    times, memory = [], []
    for round_ in range(rounds):
        target = versions[round_ % 2]
        start = time.perf_counter()
        models.SetServingVersion(models_pb2.SetServingVersionRequest(model=model, version=target))
        while inference.Predict(inference_pb2.PredictRequest(model=model, image=image)).version != target:
            pass
        times.append(time.perf_counter() - start)
        for _ in range(20):
            inference.Predict(inference_pb2.PredictRequest(model=model, image=image))
        memory.append(rss_mib(pid))
    times_ms = sorted(t * 1000 for t in times)
    print(f"swap_to_served_median: {times_ms[len(times_ms) // 2]:.1f} ms")
    print(f"swap_to_served_max: {times_ms[-1]:.1f} ms")
    print(f"swap_rss_before: {start_rss:.1f} MiB")
    print(f"swap_rss_after_{rounds}: {memory[-1]:.1f} MiB (min {min(memory):.1f}, max {max(memory):.1f})")


def deadlines(channel, metrics_url, image):
    predict = channel.unary_unary("/boundary.v1.Inference/Predict")
    request = inference_pb2.PredictRequest(image=image).SerializeToString()
    outcomes = collections.Counter()
    for _ in range(20):
        try:
            predict(request, timeout=0.0005)
            outcomes["OK"] += 1
        except grpc.RpcError as error:
            outcomes[error.code().name] += 1
    for _ in range(20):
        future = predict.future(request)
        future.cancel()
        outcomes["client cancelled" if future.cancelled() else "completed before cancel"] += 1
    time.sleep(1)
    text = urllib.request.urlopen(metrics_url).read().decode()
    recorded = [line for line in text.splitlines()
                if line.startswith("boundary_rpc_requests_total") and "Inference/Predict" in line]
    print(f"client side: {dict(outcomes)}")
    for line in recorded:
        print("metrics:", line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--model", default="scene-s")
    args = parser.parse_args()
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    channel = grpc.insecure_channel(args.server, options=options)
    image = (ROOT / "out/request.jpg").read_bytes()
    burst(channel, args.pid)
    swaps(channel, args.pid, args.model, image)
    deadlines(channel, args.metrics, image)


if __name__ == "__main__":
    main()
