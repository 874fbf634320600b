"""``llmmeter demo``: meter a real SDK workload against a local fake provider, then show what it cost.

The demo starts an OpenAI- and Anthropic-compatible server on 127.0.0.1 (``_server.py``), installs
OpenTelemetry SDK providers with in-memory exporters as the process's global providers, calls
``llmmeter.instrument()`` and runs real openai, anthropic and LangChain calls (``_workload.py``).
It then prints the cost per model, the totals of a ``llmmeter.track()`` block and the trace tree
(``_report.py``). No key, no network. ``--live`` sends the same calls to the real APIs instead.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console

import llmmeter
from llmmeter._capture._instrument import is_instrumented
from llmmeter._demo._report import cost_table, metric_total, money, trace_tree
from llmmeter._demo._server import FakeProviderServer
from llmmeter._demo._workload import Target, live_target, local_target, steps
from llmmeter._export import is_placeholder_provider
from llmmeter._tracking import Spend

__all__ = ["add_arguments", "build_parser", "main"]

_EXIT_OK = 0
_EXIT_FAILED = 1
_EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``."""
    parser.add_argument(
        "--live",
        action="store_true",
        help="call the real OpenAI API (needs OPENAI_API_KEY; Anthropic too with ANTHROPIC_API_KEY)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The demo's own argument parser."""
    parser = argparse.ArgumentParser(prog="llmmeter demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None, console: Console | None = None) -> int:
    """Run the demo; return the exit code. ``args`` is a parsed namespace or the demo's arguments."""
    if not isinstance(args, argparse.Namespace):
        args = build_parser().parse_args(list(args or ()))
    console = console or Console()
    started = time.perf_counter()
    with ExitStack() as stack:
        if getattr(args, "live", False):
            target = live_target()
            if target is None:
                console.print("[red]--live needs OPENAI_API_KEY in the environment.[/red]")
                return _EXIT_USAGE
            where = "the real OpenAI API" + (" and Anthropic API" if target.anthropic_api_key else "")
        else:
            server = stack.enter_context(FakeProviderServer())
            gateway = stack.enter_context(FakeProviderServer(gateway=True))
            llmmeter.configure(provider_hosts={gateway.url.removeprefix("http://"): "openrouter"})
            target = local_target(server.openai_base_url, server.anthropic_base_url, f"{gateway.url}/api/v1")
            where = f"a local fake provider at {server.url} and gateway at {gateway.url} (no key, no network)"
        console.print(f"[bold]llmmeter demo[/bold]: real SDK calls to {where}\n")
        pipeline = _Pipeline.create()
        if pipeline is None:
            console.print(
                "[red]The demo installs its own OpenTelemetry providers; run it in its own process.[/red]"
            )
            return _EXIT_FAILED
        failures = _run(target, pipeline, console)
    _print_results(pipeline, console)
    console.print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return _EXIT_FAILED if failures else _EXIT_OK


@dataclass(slots=True)
class _Pipeline:
    """The demo's OpenTelemetry providers, with in-memory exporters, and what the workload spent."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    spans: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    spend: Spend | None = None

    @classmethod
    def create(cls) -> _Pipeline | None:
        """Build the providers and install them as the global ones; None if globals exist already."""
        if (
            not is_placeholder_provider(trace.get_tracer_provider())
            or not is_placeholder_provider(metrics.get_meter_provider())
            or is_instrumented()
        ):
            return None
        resource = Resource.create({"service.name": "llmmeter-demo"})
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
        # Global, so the anthropic SDK's own spans land in the same trace tree.
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        return cls(tracer_provider, meter_provider, spans, reader)


def _run(target: Target, pipeline: _Pipeline, console: Console) -> int:
    """Run every step inside one track() block under a root span; return the number of failures."""
    tracer = pipeline.tracer_provider.get_tracer("llmmeter.demo")
    llmmeter.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    failures = 0
    try:
        with (
            tracer.start_as_current_span("llmmeter demo"),
            llmmeter.attributes(tenant="demo"),
            llmmeter.track() as spend,
        ):
            for step in steps():
                reason = step.unavailable(target)
                if reason is not None:
                    console.print(f"  [yellow]-[/yellow] {step.title}: skipped, {reason}")
                    continue
                with llmmeter.track() as step_spend, tracer.start_as_current_span(step.title):
                    try:
                        summary = step.run(target)
                    except Exception as exc:  # one failing step must not hide the others
                        failures += 1
                        console.print(f"  [red]x[/red] {step.title}: {type(exc).__name__}: {exc}")
                        continue
                console.print(
                    f"  [green]✓[/green] {step.title}: {step_spend.calls} call(s), "
                    f"{money(step_spend.cost_usd)}  [dim]{_shorten(summary)}[/dim]"
                )
        pipeline.spend = spend
    finally:
        llmmeter.uninstrument()
    return failures


def _print_results(pipeline: _Pipeline, console: Console) -> None:
    spend = pipeline.spend
    if spend is None:
        return
    console.print()
    console.print(cost_table(spend))
    console.print(
        f"llmmeter.track(): {spend.calls} calls, {spend.input_tokens:,} input and {spend.output_tokens:,} "
        f"output tokens ({spend.cache_read_tokens:,} read from cache, {spend.reasoning_tokens:,} reasoning), "
        f"{money(spend.cost_usd)}"
    )
    exported, series = metric_total(pipeline.metric_reader.get_metrics_data())
    console.print(
        f"metric llmmeter.cost: {money(exported)} over {series} series (what Prometheus would scrape)"
    )
    console.print()
    console.print(trace_tree(pipeline.spans.get_finished_spans(), "Trace tree (finished spans)"))


def _shorten(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
