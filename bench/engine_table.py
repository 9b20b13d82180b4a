#!/usr/bin/env python3
"""Pairs `boundary bench engine` figures with engine_peers.py's and prints a Markdown table.

A peer figure `onnxruntime NAME: V UNIT` or `keras NAME: V UNIT` is paired with Boundary's
`NAME: V UNIT`. The ratio is > 1 when Boundary is faster: Boundary ÷ peer for throughputs (img/s,
GFLOP/s), peer ÷ Boundary for times (ms). Lines starting with `#` (Boundary's CPU, OpenBLAS core and
dispatch lines; the peers' versions) are printed above the table, from the first round.

With several rounds (pairs of files, each Boundary's and the peers' output of one round), each value
is the median over the rounds, and the ratio is the median of the rounds' own ratios, followed by
every round's ratio in run order: a pair timed minutes apart on a machine whose speed drifts is
compared within its round, never across rounds.

    python3 bench/engine_table.py BOUNDARY.txt PEERS.txt [BOUNDARY-2.txt PEERS-2.txt ...]
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
        return None
    return peer / boundary if unit in TIME_UNITS else boundary / peer


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def value_text(values):
    """One round's value as printed; several rounds' median, to 3 significant digits (1 decimal from 100)."""
    if len(values) == 1:
        return values[0][1]
    middle = median(v[0] for v in values)
    return f"{middle:.3g}" if abs(middle) < 100 else f"{middle:.1f}"


def ratio_text(ratios):
    known = [r for r in ratios if r is not None]
    if not known:
        return "—"
    if len(ratios) == 1:
        return f"{known[0]:.2f}"
    rounds = ", ".join("—" if r is None else f"{r:.2f}" for r in ratios)
    return f"{median(known):.2f} ({rounds})"


def main():
    paths = sys.argv[1:]
    if not paths or len(paths) % 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    rounds = [(parse(paths[i]), parse(paths[i + 1])) for i in range(0, len(paths), 2)]
    (boundary_comments, _), (peer_comments, _) = rounds[0]
    for line in boundary_comments + peer_comments:
        print(line)
    if len(rounds) > 1:
        print(f"# {len(rounds)} rounds, Boundary and the peers alternating which runs first; values are medians over"
              " the rounds, ratios the median of each round's own ratio (then every round's, in order)")
    print()
    print("| figure | Boundary | peer | ratio (>1: Boundary faster; img/s Boundary÷peer, ms peer÷Boundary) |")
    print("| --- | --- | --- | --- |")
    names = list(dict.fromkeys(name for (_, boundary), _ in rounds for name in boundary))
    peer_keys = list(dict.fromkeys(key for _, (_, peers) in rounds for key in peers))
    paired = set()
    for name in names:
        values = [boundary[name] for (_, boundary), _ in rounds if name in boundary]
        unit = values[0][2]
        text = value_text(values)
        matches = [peer for peer in PEERS if f"{peer} {name}" in peer_keys]
        for peer in matches:
            key = f"{peer} {name}"
            paired.add(key)
            peer_values = [peers[key] for _, (_, peers) in rounds if key in peers]
            assert all(v[2] == unit for v in peer_values), (name, unit, peer_values)
            peer_text = value_text(peer_values)
            ratios = [ratio(boundary[name][0], peers[key][0], unit) if name in boundary and key in peers else None
                      for (_, boundary), (_, peers) in rounds]
            print(f"| {name} | {text} {unit} | {peer} {peer_text} {unit} | {ratio_text(ratios)} |")
        if not matches:
            print(f"| {name} | {text} {unit} | — | — |")
    for key in peer_keys:
        if key not in paired:
            peer, name = key.split(" ", 1)
            values = [peers[key] for _, (_, peers) in rounds if key in peers]
            text = value_text(values)
            print(f"| {name} | — | {peer} {text} {values[0][2]} | — |")


if __name__ == "__main__":
    main()
