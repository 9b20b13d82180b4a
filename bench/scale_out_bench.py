#!/usr/bin/env python3
"""Scale-out benchmark (bench/run-scale-out-bench): what sharing one PostgreSQL store costs.

  1. Predict throughput at concurrency 8 (grpcio threads, distinct 640×480 JPEGs — each a new
     image id, so every prediction is copied to the shared store): one process on SQLite (the
     default), one serving replica on PostgreSQL, two serving replicas on PostgreSQL (load split).
  2. Durable feedback ingest, events/s (10 image ids per event, named by id, each reply after its
     commit) at concurrency 1 and 16: one process on SQLite, and two replicas on PostgreSQL.
The client runs on the same 2 cores as the servers; every configuration pays the same client cost.

    python3 bench/scale_out_bench.py BOUNDARY_BIN [--duration 15] [--out bench/out/scale-out.json]
"""
import argparse
import concurrent.futures
import json
import pathlib
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from scale_out_check import Postgres, Server, api  # noqa: E402


def images(count, seed_bytes):
    # Bytes after the JPEG's end marker change the id (SHA-256) but not the pixels.
    return [seed_bytes + b"\xff\xfe" + i.to_bytes(8, "big") for i in range(count)]


def predict_rate(servers, jpegs, duration, concurrency=8):
    clients = [s.client(30) for s in servers]
    counter, latencies, stop = [0], [], time.time() + duration
    lock = threading.Lock()

    def lane(index):
        client = clients[index % len(clients)]
        n = index
        while time.time() < stop:
            start = time.perf_counter()
            client.predict(jpegs[n % len(jpegs)])
            elapsed = time.perf_counter() - start
            with lock:
                counter[0] += 1
                latencies.append(elapsed * 1000)
            n += concurrency
    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lane, range(concurrency)))
    seconds = time.time() - began
    latencies.sort()
    return {"req_per_s": counter[0] / seconds, "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[int(0.99 * (len(latencies) - 1))]}


def ingest_rate(servers, events, concurrency, prefix, label):
    """Each event names 10 images predicted before; replies come after the commit."""
    clients = [s.client(30) for s in servers]

    def one(index):
        ids = events[index]
        clients[index % len(clients)].submit_feedback(label, kept=ids[:7], deselected=ids[7:], key=f"{prefix}-{index}",
                                                      user=f"u{index % 8}")
    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(events))))
    return len(events) / (time.time() - began)


def predicted_ids(servers, jpegs):
    ids = []
    clients = [s.client(30) for s in servers]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for reply in pool.map(lambda pair: clients[pair[0] % len(clients)].predict(pair[1]), enumerate(jpegs)):
            ids.append(reply.image_id)
    return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "bench/out/scale-out.json"))
    args = parser.parse_args()
    request = (ROOT / "bench/out/request.jpg").read_bytes()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"CPU: {cpu}; {len(request)} B JPEG per request; binary {args.binary}")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="boundary-scale-bench-"))
    tmp.chmod(0o755)
    results = {"cpu": cpu, "date": time.strftime("%Y-%m-%d"), "predict": {}, "ingest": {}}
    pg = Postgres(tmp)
    started = []
    try:
        single = Server("single", args.binary, tmp, None, "all")
        single.start()
        started.append(single)
        engine = next((l.strip() for l in single.log.read_text().splitlines() if " engine" in l), "?")
        print(f"engine: {engine}; each process: 1 inference thread, 1 decode worker; client: 8 grpcio threads")
        results["engine"] = engine
        label = single.client().call(single.client().models.GetModel, api.models_pb2.GetModelRequest()).labels[0]
        results["predict"]["sqlite, one process"] = predict_rate([single], images(100000, request), args.duration)
        for concurrency in (1, 16):
            ids = predicted_ids([single], images(args.events * 10, request + b"s%d" % concurrency))
            events = [ids[i * 10:(i + 1) * 10] for i in range(args.events)]
            results["ingest"][f"sqlite, one process, concurrency {concurrency}"] = ingest_rate([single], events, concurrency,
                                                                                              f"s{concurrency}", label)
        single.stop()
        trainer = Server("trainer", args.binary, tmp, pg.url, "train")
        a = Server("replica-a", args.binary, tmp, pg.url, "serve", trainer)
        b = Server("replica-b", args.binary, tmp, pg.url, "serve", trainer)
        for server in (trainer, a, b):
            server.start()
            started.append(server)
        results["predict"]["postgres, one serving replica"] = predict_rate([a], images(100000, request + b"a"), args.duration)
        results["predict"]["postgres, two serving replicas"] = predict_rate([a, b], images(100000, request + b"b"), args.duration)
        for concurrency in (1, 16):
            ids = predicted_ids([a, b], images(args.events * 10, request + b"p%d" % concurrency))
            time.sleep(1)  # Copied to the store in the background.
            events = [ids[i * 10:(i + 1) * 10] for i in range(args.events)]
            results["ingest"][f"postgres, two replicas, concurrency {concurrency}"] = ingest_rate([a, b], events, concurrency,
                                                                                                  f"p{concurrency}", label)
    finally:
        for server in started:
            server.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for kind in ("predict", "ingest"):
        for name, figure in results[kind].items():
            print(f"{kind:8} {name:48} {json.dumps({k: round(v, 2) for k, v in figure.items()} if isinstance(figure, dict) else round(figure, 1))}")
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
