"""The ``llmmeter`` command line (also ``python -m llmmeter``).

    llmmeter price MODEL --input N --cached N --output N [--tier priority] ...   a cost breakdown
    llmmeter models [PATTERN] [--provider ID]                                    price entries
    llmmeter budgets [--store redis://...] [--all]                               budget windows
    llmmeter demo                                                                the demo workload
    llmmeter --version

``--json`` (price, models, budgets) prints one JSON document for scripts; money is written as exact
decimal strings.

Exit codes: 0 success, 1 nothing found or the demo is unavailable, 2 bad input (an unknown model,
nothing to price, a malformed pricing file).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from llmmeter._budgets._store import WindowState, from_nanos
from llmmeter._errors import PricingFileError
from llmmeter._pricing import Charge, Cost, PriceEntry, PricingTable, get_table
from llmmeter._pricing._rates import TIER_NAMES, Rates
from llmmeter._usage import Usage

__all__ = ["main"]

_USAGE_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--input", "input_tokens", "ALL input tokens, cached and cache writes included"),
    ("--cached", "cache_read_tokens", "cache-read (cached) input tokens, part of --input"),
    ("--cached-audio", "cache_read_audio_tokens", "cached audio tokens, part of --cached and --input-audio"),
    ("--cached-image", "cache_read_image_tokens", "cached image tokens, part of --cached and --input-image"),
    ("--cache-write", "cache_write_tokens", "5-minute cache-write tokens, part of --input"),
    ("--cache-write-1h", "cache_write_1h_tokens", "1-hour cache-write tokens, part of --input"),
    ("--input-audio", "input_audio_tokens", "audio input tokens, part of --input"),
    ("--input-image", "input_image_tokens", "image input tokens, part of --input"),
    ("--output", "output_tokens", "ALL output tokens, reasoning included"),
    ("--reasoning", "reasoning_tokens", "reasoning tokens, part of --output"),
    ("--output-audio", "output_audio_tokens", "audio output tokens, part of --output"),
    ("--output-image", "output_image_tokens", "image output tokens, part of --output"),
    ("--training", "training_tokens", "fine-tuning training tokens"),
    ("--characters", "characters", "input characters, for models billed by the character (tts-1)"),
    ("--images", "images", "images generated, for models billed per image (dall-e-3)"),
)

_EXIT_OK, _EXIT_NOT_FOUND, _EXIT_BAD_INPUT = 0, 1, 2
_PIPE_WIDTH = 160


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    out = _console(sys.stdout)
    err = _console(sys.stderr)
    if arguments[:1] == ["demo"]:  # everything after `demo` belongs to the demo, options included
        return _run_demo(arguments[1:], err)
    args = _parser().parse_args(arguments)
    command: Callable[[argparse.Namespace, Console, Console], int] = args.command
    try:
        return command(args, out, err)
    except PricingFileError as exc:
        err.print(f"llmmeter: {exc}", markup=False)
        return _EXIT_BAD_INPUT


def _console(file: TextIO) -> Console:
    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, _PIPE_WIDTH)  # don't cut model names when piped
    return console


def _parser() -> argparse.ArgumentParser:
    from llmmeter import __version__

    parser = argparse.ArgumentParser(
        prog="llmmeter", description="Meter LLM calls: price usage exactly, list price entries."
    )
    parser.add_argument("--version", action="version", version=f"llmmeter {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _add_price(commands)
    _add_models(commands)
    _add_budgets(commands)
    # Listed for --help only: main() hands `demo ...` to llmmeter._demo before parsing.
    commands.add_parser("demo", help="run the demo workload against a local fake provider")
    return parser


def _add_price(commands: Any) -> None:
    price = commands.add_parser("price", help="price one call's usage and show the breakdown")
    price.add_argument("model", help="model name as a provider reports it, e.g. gpt-5.4")
    for flag, dest, text in _USAGE_OPTIONS:
        price.add_argument(flag, dest=dest, type=_count, default=0, metavar="N", help=text)
    price.add_argument("--seconds", type=_seconds, default=0, metavar="S", help="seconds of video or audio")
    price.add_argument("--size", help="video resolution or image size, e.g. 1024x1792")
    price.add_argument("--quality", help="image quality, e.g. standard, hd (DALL-E), low, medium, high")
    price.add_argument("--tier", type=_tier, help="service tier: default, priority (fast), flex, batch")
    price.add_argument("--provider", help="gen_ai.provider.name hint, e.g. openai, azure.ai.openai")
    price.add_argument(
        "--when", type=_moment, metavar="DATE", help="price at the prices in force then, e.g. 2026-03-01"
    )
    price.add_argument("--json", action="store_true", help="print the cost as JSON")
    _add_table_options(price)
    price.set_defaults(command=_run_price)


def _add_models(commands: Any) -> None:
    models = commands.add_parser("models", help="list price entries matching a pattern")
    models.add_argument("pattern", nargs="?", help="substring or shell wildcard, e.g. gpt-5 or 'claude-*'")
    models.add_argument("--provider", help="only genai-prices entries of this provider id, e.g. openai")
    models.add_argument("--json", action="store_true", help="print the entries as JSON")
    _add_table_options(models)
    models.set_defaults(command=_run_models)


def _add_budgets(commands: Any) -> None:
    budgets = commands.add_parser("budgets", help="list the current windows of the budgets in a store")
    budgets.add_argument(
        "--store",
        metavar="URL",
        help="the budget store, e.g. redis://127.0.0.1:6379/0 (default: $LLMMETER_BUDGET_STORE)",
    )
    budgets.add_argument("--all", action="store_true", help="also the windows that have ended")
    budgets.add_argument("--json", action="store_true", help="print the windows as JSON")
    budgets.set_defaults(command=_run_budgets)


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pricing-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a TOML or JSON pricing file whose entries win (repeatable)",
    )


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _tier(text: str) -> str:
    if text.strip().lower() not in TIER_NAMES:
        known = ", ".join(sorted(name for name in TIER_NAMES if name))
        raise argparse.ArgumentTypeError(f"unknown service tier {text!r}: use one of {known}")
    return text


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or date-time: {text!r} (e.g. 2026-03-01)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return int(value) if value.is_integer() else value


def _table(args: argparse.Namespace) -> PricingTable:
    if args.pricing_file:
        return PricingTable(files=args.pricing_file)
    return get_table()


def _run_price(args: argparse.Namespace, out: Console, err: Console) -> int:
    usage = Usage(**{dest: getattr(args, dest) for _, dest, _ in _USAGE_OPTIONS}, seconds=args.seconds)
    table = _table(args)
    entry = table.resolve(args.model, args.provider, args.when)
    if entry is None:
        err.print(
            f"llmmeter: no price for model {args.model!r}.{_did_you_mean(table, args.model)}", markup=False
        )
        err.print(
            f"Try `llmmeter models {args.model}`, or add it to a pricing file (--pricing-file).", markup=False
        )
        return _EXIT_BAD_INPUT
    if usage.is_empty:
        err.print("llmmeter: nothing to price: give --input, --output, --seconds...", markup=False)
        return _EXIT_BAD_INPUT
    for warning in _inconsistencies(usage):
        err.print(f"llmmeter: warning: {warning}", markup=False)
    cost, charges = entry.explain(usage, args.tier, args.size, args.quality)
    if args.json:
        _print_json(out, _cost_json(args.model, cost, charges))
        return _EXIT_OK
    out.print(f"{args.model} → price entry {cost.model} ({cost.source}), {cost.service_tier} tier")
    out.print(_breakdown(cost, charges))
    if cost.reason:
        out.print(f"{cost.status}: {cost.reason}", markup=False)
    return _EXIT_OK


def _print_json(out: Console, document: object) -> None:
    """``document`` as JSON, written as it is (no highlighting or wrapping), for scripts."""
    out.file.write(json.dumps(document, indent=2) + "\n")


def _did_you_mean(table: PricingTable, model: str) -> str:
    names = list(dict.fromkeys(table.names()))
    matches = difflib.get_close_matches(model.strip().lower(), names, n=3, cutoff=0.75)
    return f" Did you mean {' or '.join(repr(match) for match in matches)}?" if matches else ""


def _inconsistencies(usage: Usage) -> list[str]:
    """Counts that cannot all be right: a part larger than the total it belongs to."""
    warnings = []
    cache = usage.cache_read_tokens + usage.cache_write_tokens + usage.cache_write_1h_tokens
    if cache > usage.input_tokens:
        warnings.append(
            f"cached and cache-write tokens ({cache:,}) exceed --input ({usage.input_tokens:,}); "
            "--input counts ALL input, cached included (for Anthropic, add the cache tokens to its "
            "input_tokens)"
        )
    if usage.reasoning_tokens > usage.output_tokens:
        warnings.append(
            f"--reasoning ({usage.reasoning_tokens:,}) exceeds --output ({usage.output_tokens:,}); "
            "--output counts ALL output, reasoning included"
        )
    return warnings


def _cost_json(model: str, cost: Cost, charges: Sequence[Charge]) -> dict[str, Any]:
    return {
        "model": model,
        "entry": cost.model,
        "source": cost.source,
        "service_tier": cost.service_tier,
        "status": cost.status,
        "reason": cost.reason,
        "currency": cost.currency,
        "total": None if cost.total is None else _decimal(cost.total),
        "components": {name: _decimal(value) for name, value in cost.components.items()},
        "charges": [
            {
                "component": charge.component,
                "units": _decimal(charge.units),
                "unit": charge.unit,
                "rate": _decimal(charge.rate),
                "rate_per": charge.rate_per,
                "cost": _decimal(charge.cost),
            }
            for charge in charges
        ],
    }


def _decimal(value: Decimal) -> str:
    """An exact decimal string, never in exponent form."""
    return f"{value.normalize():f}"


def _breakdown(cost: Cost, charges: Sequence[Charge]) -> Table:
    table = Table(show_footer=True)
    table.add_column("Component", footer="Total", no_wrap=True)
    table.add_column("Units", justify="right")
    table.add_column("Rate", justify="right")
    total = "unknown" if cost.total is None else _money(cost.total)
    status = "" if cost.status == "ok" else f" ({cost.status})"
    table.add_column("Cost", justify="right", footer=total + status)
    for charge in charges:
        table.add_row(charge.component, _units(charge), _rate(charge), _money(charge.cost))
    return table


def _units(charge: Charge) -> str:
    if charge.unit == "seconds":
        return f"{charge.units:f} s"
    return f"{int(charge.units):,} {charge.unit}"


def _rate(charge: Charge) -> str:
    if charge.unit in ("tokens", "characters"):
        return f"{_money(charge.rate.scaleb(6))} / 1M {charge.unit}"
    if charge.unit == "seconds":
        return f"{_money(charge.rate)} / {'hour' if charge.rate_per == 3600 else 'second'}"
    if charge.unit == "images":
        return f"{_money(charge.rate)} / image"
    return f"{_money(charge.rate)} / request"


def _money(amount: Decimal) -> str:
    """``$0.105``, ``$2.00``, ``$0.0000025``: exact, at least two decimals, never exponent form."""
    value = amount.normalize()
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return f"${value:f}"


def _run_models(args: argparse.Namespace, out: Console, err: Console) -> int:
    entries = _table(args).entries(args.pattern, provider=args.provider)
    if not entries:
        err.print(f"llmmeter: no price entries match {args.pattern!r}", markup=False)
        return _EXIT_NOT_FOUND
    if args.json:
        _print_json(out, [_entry_json(entry) for entry in entries])
        return _EXIT_OK
    noun = "entry" if len(entries) == 1 else "entries"
    table = Table(title=f"{len(entries)} price {noun} (USD per 1M tokens)", title_justify="left")
    for name in ("Model", "Provider", "Input", "Cached", "Output", "Other", "Source"):
        numeric = name in ("Input", "Cached", "Output")
        table.add_column(name, justify="right" if numeric else "left", no_wrap=name != "Other")
    for entry in entries:
        rates = entry.standard
        table.add_row(
            entry.model,
            entry.provider or "",
            *(_per_million(rates, name) for name in ("input", "cache_read", "output")),
            _other(entry),
            entry.source,
        )
    out.print(table)
    return _EXIT_OK


def _run_budgets(args: argparse.Namespace, out: Console, err: Console) -> int:
    from llmmeter._budgets._redis import RedisStore, StoreError
    from llmmeter._budgets._stores import STORE_ENV, checked_url
    from llmmeter._errors import ConfigurationError

    url = args.store or os.environ.get(STORE_ENV, "")
    if not url:
        err.print(f"llmmeter: name the store with --store redis://... or ${STORE_ENV}", markup=False)
        return _EXIT_BAD_INPUT
    try:
        windows = RedisStore(checked_url(url, "--store"), ttl_s=600).windows()
    except (ConfigurationError, StoreError) as exc:
        err.print(f"llmmeter: {exc}", markup=False)
        return _EXIT_BAD_INPUT
    now = datetime.now(UTC)
    if not args.all:
        windows = [w for w in windows if w.window_end is None or w.window_end > now]
    windows.sort(key=lambda w: (w.name, w.per or "", w.window_start or now))
    if args.json:
        _print_json(out, [_window_json(window) for window in windows])
        return _EXIT_OK
    if not windows:
        err.print("llmmeter: no budget windows in the store", markup=False)
        return _EXIT_NOT_FOUND
    table = Table(title=f"{len(windows)} budget windows (USD)", title_justify="left")
    for name in ("Budget", "Per", "Window start (UTC)", "Spent", "Reserved", "In flight"):
        table.add_column(name, justify="right" if name in ("Spent", "Reserved", "In flight") else "left")
    for window in windows:
        start = "" if window.window_start is None else window.window_start.strftime("%Y-%m-%d %H:%M")
        table.add_row(
            window.name,
            window.per or "-",
            start,
            _decimal(from_nanos(window.spent)),
            _decimal(from_nanos(window.reserved)),
            str(window.reservations),
        )
    out.print(table)
    return _EXIT_OK


def _window_json(window: WindowState) -> dict[str, Any]:
    return {
        "name": window.name,
        "per": window.per,
        "window_start": None if window.window_start is None else window.window_start.isoformat(),
        "window_end": None if window.window_end is None else window.window_end.isoformat(),
        "spent_usd": _decimal(from_nanos(window.spent)),
        "reserved_usd": _decimal(from_nanos(window.reserved)),
        "reservations": window.reservations,
    }


_JSON_TOKEN_RATES = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "output",
    "output_reasoning",
    "input_audio",
    "cache_audio_read",
    "output_audio",
    "input_image",
    "cache_image_read",
    "output_image",
    "training",
)


def _entry_json(entry: PriceEntry) -> dict[str, Any]:
    def rates_json(rates: Rates) -> dict[str, str]:
        return {
            name: _decimal(rate)
            for name in _JSON_TOKEN_RATES
            if (rate := rates.per_million(name)) is not None
        }

    return {
        "model": entry.model,
        "provider": entry.provider,
        "source": entry.source,
        "per_million_tokens": rates_json(entry.standard),
        "long_context": [
            {"above_input_tokens": threshold, "per_million_tokens": rates_json(rates)}
            for threshold, rates in entry.schedules["standard"].long_context
        ],
        "tiers": {
            tier: rates_json(schedule.base)
            for tier, schedule in entry.schedules.items()
            if tier != "standard"
        },
    }


def _per_million(rates: Rates, name: str) -> str:
    rate = rates.per_million(name)
    return "" if rate is None else _money(rate)


_OTHER_TOKEN_RATES = (
    ("cache_write", "cache write"),
    ("cache_write_1h", "cache write 1h"),
    ("input_audio", "audio in"),
    ("cache_audio_read", "audio cached"),
    ("output_audio", "audio out"),
    ("input_image", "image in"),
    ("cache_image_read", "image cached"),
    ("output_image", "image out"),
    ("training", "training"),
)


def _other(entry: PriceEntry) -> str:
    rates = entry.standard
    notes = [f"{label} {price}" for name, label in _OTHER_TOKEN_RATES if (price := _per_million(rates, name))]
    if rates.video_second is not None:
        notes.append(f"video {_money(rates.video_second)}/s")
    notes += [f"video {size} {_money(rate)}/s" for size, rate in rates.video_second_by_size.items()]
    notes += [
        f"image {quality} {size} {_money(rate)}"
        for quality, by_size in rates.image_by_quality.items()
        for size, rate in by_size.items()
    ]
    if rates.training_hour is not None:
        notes.append(f"training {_money(rates.training_hour)}/hour")
    if rates.audio_hour is not None:
        notes.append(f"audio {_money(rates.audio_hour)}/hour")
    if rates.character is not None:
        notes.append(f"{_money(rates.character.scaleb(6))}/1M characters")
    standard = entry.schedules["standard"]
    notes += [f"long context >{threshold:,}" for threshold, _ in standard.long_context]
    notes += [tier for tier in entry.schedules if tier != "standard"]
    return ", ".join(notes)


def _run_demo(argv: list[str], err: Console) -> int:
    try:
        demo = importlib.import_module("llmmeter._demo")
    except ImportError as exc:
        err.print(f"llmmeter: the demo is not available ({exc})", markup=False)
        return _EXIT_NOT_FOUND
    result = demo.main(argv)
    return int(result or 0)
