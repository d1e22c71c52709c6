#!/usr/bin/env python3
"""The YAML tree of compose files and Kubernetes manifests (``oomaudit.parsers.yamltree``)
against PyYAML on the same texts, in the same process, in CPU time.

    python bench/bench_yaml.py [--repeat 9] [--copies 20]

The texts are every compose file and manifest of ``../shared/realworld`` (``--copies``
times each, as a fleet's repository repeats them). Two baselines, taken in turns with
``load_all``: ``yaml.load_all`` with the C safe loader (plain dicts and lists, no lines,
aliases expanded: what a reader that trusted its input would call; target: ``load_all``
<= 1x it) and the bare libyaml event stream, the floor under any tree built from events
(shown for scale). Each figure is the median of the ratios pair by pair.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from oomaudit.parsers.yamltree import YamlError, load_all  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld"


def texts(copies: int) -> list[str]:
    found = [p.read_text(encoding="utf-8", errors="replace")
             for folder in ("compose", "kubernetes") for p in sorted((SHARED / folder).iterdir())
             if p.is_file() and p.suffix in (".yml", ".yaml")]
    return found * copies


def ours(all_texts: list[str]) -> None:
    for text in all_texts:
        try:
            list(load_all(text))
        except YamlError:
            pass


def pyyaml(all_texts: list[str]) -> None:
    for text in all_texts:
        try:
            list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        except yaml.YAMLError:
            pass


def events(all_texts: list[str]) -> None:
    for text in all_texts:
        try:
            for _ in yaml.parse(text, Loader=yaml.CSafeLoader):
                pass
        except yaml.YAMLError:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    if not getattr(yaml, "__with_libyaml__", False):
        print("PyYAML without libyaml: nothing to compare with")
        return 2
    all_texts = texts(args.copies)
    times: dict[str, list[float]] = {"load_all": [], "yaml.load_all": [], "events": []}
    for _ in range(args.repeat):
        for name, run in (("load_all", ours), ("yaml.load_all", pyyaml), ("events", events)):
            started = time.process_time()
            run(all_texts)
            times[name].append(time.process_time() - started)
    size = sum(len(t) for t in all_texts) >> 10
    print(f"{len(all_texts)} texts, {size} KiB; CPU time, median of {args.repeat} runs in turns")
    for name, spent in times.items():
        print(f"  {name:14} {statistics.median(spent) * 1000:8.1f} ms")
    over = 0
    for base, target in (("yaml.load_all", 1.0), ("events", None)):
        ratio = statistics.median(o / b for o, b in zip(times["load_all"], times[base],
                                                               strict=True))
        verdict = "" if target is None else f" (target <= {target:g}x)" + (
            " OVER TARGET" if ratio > target else "")
        over += target is not None and ratio > target
        print(f"  load_all / {base}: {ratio:.2f}x{verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
