"""How fast llmmeter prices a call, against genai-prices' own calc_price measured in the same run.

    .venv/bin/python -m benchmarks.bench_pricing

Prints, per model, the median time of ``PricingTable.price_usage`` and ``llmmeter.price`` for an
already-resolved model next to ``genai_prices.calc_price`` for the same usage (and checks the
totals agree), then the cost of ``import llmmeter`` and of the first price call, each measured
in fresh interpreters. Targets: pricing >= 10x faster than calc_price; import < 150 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import genai_prices
from rich.console import Console
from rich.table import Table

import llmmeter
from llmmeter._pricing import get_table

BATCH = 500
ROUNDS = 31
FRESH_RUNS = 15


@dataclass(frozen=True)
class Workload:
    """One call's usage, in llmmeter's and genai-prices' terms."""

    model: str
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int

    def usage(self) -> llmmeter.Usage:
        return llmmeter.Usage(
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            output_tokens=self.output_tokens,
        )

    def genai_usage(self) -> genai_prices.Usage:
        return genai_prices.Usage(
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            output_tokens=self.output_tokens,
        )


WORKLOADS = (
    Workload("gpt-5.4", 12_000, 10_000, 0, 800),
    Workload("claude-sonnet-4-5", 12_000, 8_000, 2_000, 800),
    Workload("gpt-4o-2024-08-06", 1_200, 0, 0, 120),
)


def median_seconds(call: Callable[[], object]) -> float:
    """Median time of one call, over ROUNDS batches of BATCH calls."""
    for _ in range(BATCH):  # warm: resolution, caches
        call()
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(BATCH):
            call()
        samples.append((time.perf_counter() - start) / BATCH)
    return statistics.median(samples)


def bench_workload(workload: Workload) -> tuple[float, float, float, bool]:
    """(price_usage, llmmeter.price, calc_price) median seconds, and whether the totals agree."""
    table = get_table()
    usage, genai_usage = workload.usage(), workload.genai_usage()
    ours = median_seconds(lambda: table.price_usage(workload.model, usage))
    via_price = median_seconds(
        lambda: llmmeter.price(
            workload.model,
            input_tokens=workload.input_tokens,
            cache_read_tokens=workload.cache_read_tokens,
            cache_write_tokens=workload.cache_write_tokens,
            output_tokens=workload.output_tokens,
        )
    )
    theirs = median_seconds(lambda: genai_prices.calc_price(genai_usage, workload.model))
    expected: Decimal = genai_prices.calc_price(genai_usage, workload.model).total_price
    agree = table.price_usage(workload.model, usage).total == expected
    return ours, via_price, theirs, agree


def fresh_python_ms(code: str) -> float:
    """Median wall time, in ms, of ``python -c code`` in fresh interpreters."""
    samples = []
    for _ in range(FRESH_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def importtime_ms() -> float:
    """``import llmmeter``'s cumulative time as ``python -X importtime`` reports it, in ms."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import llmmeter"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stderr.splitlines():
        fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == "llmmeter":
            return int(fields[1]) / 1000
    raise RuntimeError("llmmeter missing from -X importtime output")


def first_call_ms() -> float:
    """Time of the first llmmeter.price call in a fresh interpreter (loads the price data), in ms."""
    code = (
        "import time, llmmeter; t = time.perf_counter(); "
        "llmmeter.price('gpt-5.4', input_tokens=1000, output_tokens=100); "
        "print((time.perf_counter() - t) * 1000)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs)


def pricing_table() -> Table:
    table = Table(title=f"Pricing one call (median of {ROUNDS} x {BATCH} calls)", title_justify="left")
    for column in ("model", "price_usage", "llmmeter.price", "genai calc_price", "speed-up", "same total"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for workload in WORKLOADS:
        ours, via_price, theirs, agree = bench_workload(workload)
        table.add_row(
            workload.model,
            f"{ours * 1e6:.1f} µs",
            f"{via_price * 1e6:.1f} µs",
            f"{theirs * 1e6:.1f} µs",
            f"{theirs / ours:.0f}x / {theirs / via_price:.0f}x",
            "yes" if agree else "NO",
        )
    return table


def startup_table() -> Table:
    bare = fresh_python_ms("pass")
    with_import = fresh_python_ms("import llmmeter")
    table = Table(title=f"Start-up (median of {FRESH_RUNS} fresh interpreters)", title_justify="left")
    table.add_column("measure")
    table.add_column("time", justify="right")
    table.add_column("target", justify="right")
    table.add_row("import llmmeter (wall, minus bare python)", f"{with_import - bare:.1f} ms", "< 150 ms")
    table.add_row("import llmmeter (-X importtime, cumulative)", f"{importtime_ms():.1f} ms", "< 150 ms")
    table.add_row(
        "first llmmeter.price() (loads price data)", f"{first_call_ms():.0f} ms", "once per process"
    )
    return table


def main() -> None:
    console = Console(width=120)
    console.print(pricing_table())
    console.print(startup_table())
    console.print("speed-up = calc_price time / price_usage time, and / llmmeter.price time (target >= 10x)")


if __name__ == "__main__":
    main()
