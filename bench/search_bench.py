#!/usr/bin/env python3
"""Boundary's exact similarity index against faiss-cpu IndexFlatIP on the same vectors.

Writes N random 128-d vectors and 1,000 queries (float32, L2-normalised, seeded) to bench/out,
runs `boundary bench search` on them, then faiss on the same arrays with the same thread count:
single-query latency (p50/p99 over 200 queries, one search call each) and batch throughput (1,000
queries in one call), and build time (add). Checks both return the same top-k ids for the first 50
queries (recall@k against faiss). Prints a Markdown table with the ratios.

    python3 bench/search_bench.py BOUNDARY_BIN [--sizes 100000,1000000] [--threads 2]
"""
import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

import faiss
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def faiss_figures(stored, queries, k, single, batch):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index = faiss.IndexFlatIP(stored.shape[1])
    index.add(stored)
    build = time.perf_counter() - start
    index.search(queries[:1], k)
    latencies = []
    for row in range(single):
        t = time.perf_counter()
        index.search(queries[row:row + 1], k)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    t = time.perf_counter()
    _, ids = index.search(queries[:batch], k)
    batch_seconds = time.perf_counter() - t
    return {"build_seconds": build, "single_p50_ms": latencies[len(latencies) // 2] * 1000,
            "single_p99_ms": latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000,
            "single_qps": len(latencies) / sum(latencies), "batch_qps": batch / batch_seconds,
            "ids": ids[:50].tolist(), "bytes_per_vector": stored.shape[1] * 4}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(11)
    queries = unit(rng.standard_normal((1000, args.dimension), dtype=np.float32)).astype(np.float32)
    queries.tofile(out / "search-queries.f32")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        stored = unit(rng.standard_normal((size, args.dimension), dtype=np.float32)).astype(np.float32)
        stored.tofile(out / "search-vectors.f32")
        run = subprocess.run([args.binary, "bench", "search", "--vectors", str(out / "search-vectors.f32"),
                              "--queries", str(out / "search-queries.f32"), "--dimension", str(args.dimension),
                              "--k", str(args.k), "--threads", str(args.threads)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"search_bench: boundary bench search failed:\n{run.stdout}{run.stderr}")
        ours = json.loads(run.stdout.strip().splitlines()[-1])
        theirs = faiss_figures(stored, queries, args.k, 200, 1000)
        recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(ours["ids"], theirs["ids"])])
        print(f"{size:>9} stored: Boundary p50 {ours['single_p50_ms']:.2f} ms, batch {ours['batch_qps']:.0f} q/s; "
              f"faiss p50 {theirs['single_p50_ms']:.2f} ms, batch {theirs['batch_qps']:.0f} q/s; recall@{args.k} vs faiss {recall:.3f}")
        rows.append((size, ours, theirs, recall))
    print(f"\nEngine: {rows[0][1]['engine']}; threads {args.threads}; faiss {faiss.__version__}\n")
    print("| stored | Boundary p50 / p99 ms | faiss p50 / p99 ms | p50 ratio | Boundary batch q/s | faiss batch q/s | batch ratio | "
          "build s (Boundary / faiss) | bytes per vector (Boundary RSS / faiss data) | recall@k vs faiss |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, ours, theirs, recall in rows:
        print(f"| {size:,} | {ours['single_p50_ms']:.2f} / {ours['single_p99_ms']:.2f} | {theirs['single_p50_ms']:.2f} / "
              f"{theirs['single_p99_ms']:.2f} | {ours['single_p50_ms'] / theirs['single_p50_ms']:.2f}× | {ours['batch_qps']:.0f} | "
              f"{theirs['batch_qps']:.0f} | {ours['batch_qps'] / theirs['batch_qps']:.2f}× | {ours['build_seconds']:.2f} / "
              f"{theirs['build_seconds']:.2f} | {ours['bytes_per_vector']:.0f} / {theirs['bytes_per_vector']} | {recall:.3f} |")


if __name__ == "__main__":
    main()
