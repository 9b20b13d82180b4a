#!/usr/bin/env python3
"""Pairs `boundary bench engine` figures with engine_peers.py's and prints a Markdown table.

A peer figure `onnxruntime NAME: V UNIT` or `keras NAME: V UNIT` is paired with Boundary's
`NAME: V UNIT`. The ratio is > 1 when Boundary is faster: Boundary ÷ peer for throughputs (img/s,
GFLOP/s), peer ÷ Boundary for times (ms). Lines starting with `#` (Boundary's CPU, OpenBLAS core and
dispatch lines; the peers' versions) are printed above the table.

    python3 bench/engine_table.py bench/out/engine-boundary.txt bench/out/engine-peers.txt
"""
import pathlib
import re
import sys

FIGURE = re.compile(r"^(?P<name>.+): (?P<value>-?[0-9.]+(?:e[+-]?[0-9]+)?|nan|inf) (?P<unit>\S+)$")
PEERS = ("onnxruntime", "keras")
TIME_UNITS = {"ms", "s", "us"}


def parse(path):
    comments, figures = [], {}
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("#"):
            comments.append(line)
        elif m := FIGURE.match(line):
            figures[m["name"]] = (float(m["value"]), m["value"], m["unit"])
    return comments, figures


def ratio(boundary, peer, unit):
    if not boundary or not peer:
        return "—"
    return f"{(peer / boundary if unit in TIME_UNITS else boundary / peer):.2f}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    boundary_comments, boundary = parse(sys.argv[1])
    peer_comments, peers = parse(sys.argv[2])
    for line in boundary_comments + peer_comments:
        print(line)
    print()
    print("| figure | Boundary | peer | ratio (>1: Boundary faster; img/s Boundary÷peer, ms peer÷Boundary) |")
    print("| --- | --- | --- | --- |")
    paired = set()
    for name, (value, text, unit) in boundary.items():
        matches = [peer for peer in PEERS if f"{peer} {name}" in peers]
        for peer in matches:
            paired.add(f"{peer} {name}")
            peer_value, peer_text, peer_unit = peers[f"{peer} {name}"]
            assert peer_unit == unit, (name, unit, peer_unit)
            print(f"| {name} | {text} {unit} | {peer} {peer_text} {unit} | {ratio(value, peer_value, unit)} |")
        if not matches:
            print(f"| {name} | {text} {unit} | — | — |")
    for key, (_, text, unit) in peers.items():
        if key not in paired:
            peer, name = key.split(" ", 1)
            print(f"| {name} | — | {peer} {text} {unit} | — |")


if __name__ == "__main__":
    main()
