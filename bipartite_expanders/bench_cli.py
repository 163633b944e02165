"""``bipartite-expanders bench NAME ...``: run one of the benchmarks in :data:`BENCHMARKS`."""

from __future__ import annotations

import argparse
import importlib

from .bench import BENCHMARKS

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, module in BENCHMARKS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        mod.configure(p)
        p.set_defaults(_bench_module=module)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(args._bench_module).run(args) or 0)
