"""`make bench`: run every benchmark in bench/ and print its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    ("Accuracy on held-out measurements (grouped cross-validation)", ["bench_accuracy.py"]),
    ("Speed of the vectorised core", ["bench_speed.py"]),
    ("Capacity planning and cost speed", ["bench_plan.py"]),
    ("Pipeline: the scalar estimate beside a million samples", ["bench_pipeline.py"]),
    ("Uncertainty: Sobol and Monte Carlo speed", ["bench_sobol.py"]),
    ("Peer calculator comparison, row by row (llm-analysis)", ["peer_compare.py"]),
    ("Peers on the same rows: tokenfab held out, AIConfigurator, llm-analysis", ["bench_peers.py"]),
    ("HTTP API under load (loopback)", ["bench_api_load.py"]),
]


def main() -> int:
    failed = 0
    for title, argv in BENCHMARKS:
        script = HERE / argv[0]
        if not script.exists():
            continue
        print(f"\n=== {title} ({argv[0]}) ===\n", flush=True)
        rc = subprocess.call([sys.executable, str(script), *argv[1:]])
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
