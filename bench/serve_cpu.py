#!/usr/bin/env python3
"""Where a server's CPU goes per request: CPU ms per Predict, by thread, under h2load.

Reads every thread's user + system time of the server process from /proc before and after an
h2load run (the benchmark request, bench/out/body.bin) and divides by the requests the run
completed. Threads are grouped by name with the trailing number dropped: Boundary names its decode
workers `decode-N`, its batcher `batcher` and its loaders; NIO's event loops are `NIO-SGLTN-…`; the
Swift cooperative pool shows as `…default-qos`. A thread takes the name of the thread that created
it, so the engine's crew helpers count with whoever created their session. The sum gives the
ceiling the two cores (or `--cores`) allow: cores × 1000 / total ms, before the load generator's own
share of the same cores.

    python3 bench/serve_cpu.py --pid PID --target 127.0.0.1:50051 [--concurrency 8,32] [--duration 8]

Linux only (/proc). Works for any server, the Python peer included. Start it once the server has
settled: a fresh `boundary serve` embeds its models' base data on the retrain thread for a few
seconds, ahead of the first retrain.
"""
import argparse
import collections
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
PATH = "/boundary.v1.Inference/Predict"


def thread_times(pid):
    """CPU seconds per thread-name group of process `pid`."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = collections.Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = pathlib.Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            # Fields after the parenthesised name: utime and stime are the 12th and 13th.
            fields = pathlib.Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between the listing and the read
        groups[re.sub(r"[-_#]*\d+$", "", name)] += (int(fields[11]) + int(fields[12])) / tick
    return groups


def h2load(target, concurrency, duration, body, log):
    connections = min(concurrency, 4)
    if concurrency % connections:
        sys.exit(f"serve_cpu: concurrency {concurrency} is not a multiple of {connections} connections")
    command = ["h2load", "-c", str(connections), "-m", str(concurrency // connections), "-D", str(duration),
               "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
               "--log-file", str(log), f"http://{target}{PATH}"]
    log.unlink(missing_ok=True)  # h2load appends to --log-file: the last run's rows would count again
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"serve_cpu: h2load failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    rows = np.loadtxt(log, dtype=np.int64, ndmin=2)
    return rows[rows[:, 1] == 200][:, 2] / 1000.0  # latencies in ms of the requests answered 200


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pid", type=int, required=True, help="the server process")
    ap.add_argument("--target", required=True, metavar="HOST:PORT")
    ap.add_argument("--concurrency", default="8,32")
    ap.add_argument("--duration", type=int, default=8, help="seconds per run (no warm-up: the whole run is counted)")
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--body", type=pathlib.Path, default=HERE / "out" / "body.bin")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            before = thread_times(args.pid)
            latencies = h2load(args.target, concurrency, args.duration, args.body, pathlib.Path(tmp) / "h2load.log")
            after = thread_times(args.pid)
            count = len(latencies)
            if count == 0:
                sys.exit("serve_cpu: no request was answered with HTTP 200")
            p50, p99 = np.percentile(latencies, 50), np.percentile(latencies, 99)
            print(f"concurrency {concurrency}: {count / args.duration:.1f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            print("| thread group | CPU ms per request |")
            print("| --- | --- |")
            total = 0.0
            for name in sorted(after, key=lambda n: before[n] - after[n]):
                ms = (after[name] - before[name]) * 1000 / count
                total += ms
                if ms >= 0.001:
                    print(f"| {name} | {ms:.3f} |")
            print(f"| total | {total:.3f} (ceiling on {args.cores} cores: {args.cores * 1000 / total:.0f} req/s) |")


if __name__ == "__main__":
    main()
