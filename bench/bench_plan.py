"""Speed of capacity planning: the full search over the catalogs, and breakeven.

Target (issue: cost model): the search over all catalog accelerators x parallelisms x regions x
ownership finishes in under a second. Breakeven sizes every volume of its curves as plan (or
estimate on whole groups) does; the web calculator's "Buy, rent or API" tab waits for it:
CPU seconds of one analysis (the machine is shared: CPU, not wall), best of 3.
"""

from __future__ import annotations

import time

from tokenfab.breakeven import analyse
from tokenfab.catalog import default_catalog
from tokenfab.planning import plan
from tokenfab.scenario import Scenario


def main() -> None:
    cat = default_catalog()
    regions = [r.id for r in cat.table("regions").values()]
    base = Scenario(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        tokens_per_day=2e9,
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    )
    plan(base, regions=regions, catalog=cat)  # warm the catalog caches
    times = []
    for _ in range(3):
        t = time.perf_counter()
        options = plan(base, regions=regions, catalog=cat)
        times.append(time.perf_counter() - t)
    feasible = sum(o.estimate is not None for o in options)
    accs = len({o.accelerator for o in options})
    print("benchmark | time | target | note")
    print(
        f"plan: {accs} accelerators x {len(regions)} regions x buy/rent, all layouts and batches | "
        f"{min(times) * 1e3:.0f} ms | < 1000 ms | {feasible} feasible of {len(options)} options"
    )

    llama = {"model": "llama-3.1-70b", "precision": "fp8", "accelerator": "h100-sxm"}
    gpt = {"model": "gpt-oss-120b", "accelerator": "b200"}
    for name, req in (
        ("Llama 3.1 70B FP8 on H100", llama),
        ("gpt-oss-120b on B200", gpt),
        ("Llama 3.1 70B FP8 on H100, --accelerators 8", {**llama, "accelerators": 8}),
        ("Llama 3.1 70B FP8 on H100, B200 prefill", {**llama, "prefill_accelerator": "b200"}),
        (
            "Llama 3.1 70B FP8 on H100 x 8, B200 prefill",
            {**llama, "prefill_accelerator": "b200", "accelerators": 8},
        ),
    ):
        cpu = []
        for _ in range(3):
            t = time.process_time()
            a = analyse(req, cat)
            cpu.append(time.process_time() - t)
        print(
            f"breakeven: {name} | {min(cpu) * 1e3:.0f} ms CPU | - | "
            f"{a.fine.tokens_per_day.size} of the 1,401 fine volumes sized, and the table's"
        )


if __name__ == "__main__":
    main()
