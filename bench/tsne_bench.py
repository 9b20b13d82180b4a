#!/usr/bin/env python3
"""t-SNE: `boundary bench tsne` against scikit-learn's TSNE on the very same points.

The points are seeded Gaussian clusters (10 by default, 64 dimensions, unequal spreads), written
as raw float32 for Boundary. Both maps get the same settings (perplexity 30, 1,000 iterations, PCA
start, Barnes–Hut θ 0.5, early exaggeration 12 for 250 iterations, learning rate "auto") and are
scored the same way here: how many of each point's 10 nearest neighbours in the input are among its
10 nearest on the map (neighbourhood preservation), and how many of its 10 nearest on the map come
from its own cluster. Both are timed with 1 and 2 threads. A second table times Boundary's exact
(one thread) and Barnes–Hut (one thread) methods at a few sizes: where to switch.

    python3 bench/tsne_bench.py BOUNDARY_BIN [--points 5000] [--sizes 250,500,1000,2000]
"""
import argparse
import json
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import sklearn
from sklearn.manifold import TSNE


def data(points, dimension, clusters, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (clusters, dimension))
    spread = rng.uniform(0.5, 2.0, clusters)
    labels = np.arange(points) % clusters
    x = centres[labels] + rng.normal(0, 1, (points, dimension)) * spread[labels, None]
    return x.astype(np.float32), labels


def neighbours(x, k=10):
    squared = (x * x).sum(1)
    d = squared[:, None] + squared[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    return np.argpartition(d, k, axis=1)[:, :k]


def scores(x, labels, y, k=10):
    near_in, near_map = neighbours(x.astype(np.float64), k), neighbours(y.astype(np.float64), k)
    preserved = np.mean([len(set(a) & set(b)) / k for a, b in zip(near_in, near_map)])
    same = np.mean(labels[near_map] == labels[:, None])
    return preserved, same


def boundary(binary, x, method, tmp, threads=1):
    path, out = tmp / f"points-{len(x)}.f32", tmp / f"map-{len(x)}-{method}.f32"
    x.tofile(path)
    line = subprocess.run([binary, "bench", "tsne", "--input", str(path), "--dimension", str(x.shape[1]),
                           "--method", method, "--threads", str(threads), "--out", str(out)],
                          check=True, capture_output=True, text=True).stdout
    result = json.loads(line)
    return result, np.fromfile(out, dtype=np.float32).reshape(-1, 2)


def sklearn_tsne(x, threads):
    tsne = TSNE(n_components=2, perplexity=30, max_iter=1000, init="pca", learning_rate="auto", method="barnes_hut",
                angle=0.5, early_exaggeration=12, random_state=0, n_jobs=threads)
    start = time.perf_counter()
    y = tsne.fit_transform(x)
    return time.perf_counter() - start, y, tsne.kl_divergence_


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--dimension", type=int, default=64)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--sizes", default="250,500,1000,2000")
    args = ap.parse_args()
    x, labels = data(args.points, args.dimension, args.clusters)
    print(f"# {args.points} points, {args.dimension} dimensions, {args.clusters} clusters; scikit-learn {sklearn.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        rows = []
        for threads in (1, 2):
            result, y = boundary(args.binary, x, "barnes-hut", tmp, threads)
            rows.append((f"Boundary (Barnes–Hut, {threads} thread{'s' if threads > 1 else ''})", result["seconds"], result["kl"],
                         *scores(x, labels, y)))
        for threads in (1, 2):
            seconds, y, kl = sklearn_tsne(x, threads)
            rows.append((f"scikit-learn (Barnes–Hut, n_jobs={threads})", seconds, kl, *scores(x, labels, y)))
        print("\n| t-SNE | seconds | KL | 10-NN preserved | 10-NN same cluster |")
        print("| --- | --- | --- | --- | --- |")
        for name, seconds, kl, preserved, same in rows:
            print(f"| {name} | {seconds:.2f} | {kl:.3f} | {preserved:.3f} | {same:.3f} |")
        print(f"\nBoundary's time ÷ scikit-learn's: {rows[0][1] / rows[2][1]:.2f}× at 1 thread, {rows[1][1] / rows[3][1]:.2f}× at 2")

        print("\n| points | exact s | Barnes–Hut s | exact KL | Barnes–Hut KL |")
        print("| --- | --- | --- | --- | --- |")
        for n in [int(s) for s in args.sizes.split(",")]:
            exact, _ = boundary(args.binary, x[:n], "exact", tmp)
            tree, _ = boundary(args.binary, x[:n], "barnes-hut", tmp)
            print(f"| {n} | {exact['seconds']:.2f} | {tree['seconds']:.2f} | {exact['kl']:.3f} | {tree['kl']:.3f} |")


if __name__ == "__main__":
    main()
