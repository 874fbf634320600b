"""What the demo prints: a cost table per model and the trace tree, as rich renderables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from llmmeter._telemetry import _names as n
from llmmeter._tracking import Spend

__all__ = ["cost_table", "metric_total", "money", "trace_tree"]

_ANTHROPIC_SDK_SCOPE = "com.anthropic.sdk.python"
_MICRO_DOLLAR = Decimal("0.000001")


def money(amount: Decimal | float | None) -> str:
    """A USD amount with six decimals, or eight for amounts under a millionth; ``unknown`` for None."""
    if amount is None:
        return "unknown"
    value = Decimal(str(amount))
    if value and abs(value) < _MICRO_DOLLAR:
        return f"${value:.8f}"
    return f"${value:.6f}"


def cost_table(spend: Spend) -> Table:
    """Calls, tokens and cost per priced model, most expensive first, with a total row."""
    table = Table(title="Cost per model", title_justify="left", show_footer=True)
    table.add_column("Model", footer="Total")
    table.add_column("Calls", justify="right", footer=str(spend.calls))
    table.add_column("Input tokens", justify="right", footer=f"{spend.input_tokens:,}")
    table.add_column("Output tokens", justify="right", footer=f"{spend.output_tokens:,}")
    table.add_column("Cost (USD)", justify="right", footer=money(spend.cost_usd))
    rows = sorted(spend.by_model.items(), key=lambda item: (-item[1].cost_usd, item[0]))
    for model, per_model in rows:
        cost = money(per_model.cost_usd)
        if per_model.unpriced_calls:
            cost += f" (+{per_model.unpriced_calls} unpriced)"
        table.add_row(
            model, str(per_model.calls), f"{per_model.input_tokens:,}", f"{per_model.output_tokens:,}", cost
        )
    return table


def trace_tree(spans: Sequence[ReadableSpan], title: str = "Traces") -> Tree:
    """The finished spans as a tree, children under their parent, in start order."""
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children[parent if parent in by_id else None].append(span)
    tree = Tree(Text(title, style="bold"))
    _add_children(tree, None, children)
    return tree


def _add_children(node: Tree, parent: int | None, children: dict[int | None, list[ReadableSpan]]) -> None:
    for span in sorted(children.get(parent, ()), key=lambda s: s.start_time or 0):
        branch = node.add(_label(span))
        if span.context is not None:
            _add_children(branch, span.context.span_id, children)


def _label(span: ReadableSpan) -> Text:
    attributes: dict[str, Any] = dict(span.attributes or {})
    label = Text(span.name, style="bold" if span.parent is None else "")
    scope = span.instrumentation_scope.name if span.instrumentation_scope else ""
    label.append(f"  [{_scope_label(scope)}]", style="dim")
    if span.end_time is not None and span.start_time is not None:
        label.append(f"  {(span.end_time - span.start_time) / 1e6:.1f} ms", style="dim")
    tokens_in = attributes.get(n.USAGE_INPUT_TOKENS)
    tokens_out = attributes.get(n.USAGE_OUTPUT_TOKENS)
    if tokens_in is not None or tokens_out is not None:
        label.append(f"  {tokens_in or 0} in / {tokens_out or 0} out", style="cyan")
    cost = attributes.get(n.COST_AMOUNT)
    if cost is not None:
        label.append(f"  {money(cost)}", style="green")
        if attributes.get(n.COST_SOURCE) == n.COST_SOURCE_PROVIDER:
            local = attributes.get(n.COST_LOCAL_AMOUNT)
            label.append(f"  reported by the provider (table: {money(local)})", style="dim")
    elif attributes.get(n.COST_STATUS) not in (None, "ok"):
        label.append(f"  cost {attributes[n.COST_STATUS]}", style="yellow")
    if attributes.get(n.COUNTED_BY) == n.COUNTED_BY_RESPONSES:
        session_cost = attributes.get(n.REALTIME_COST)
        label.append(f"  session of {attributes.get(n.REALTIME_RESPONSES, 0)} response(s)", style="cyan")
        if session_cost is not None:
            label.append(f"  {money(session_cost)} in all, on the response spans", style="green")
    elif attributes.get(n.COUNTED_BY):
        label.append(f"  (counted by its {attributes[n.COUNTED_BY]} call)", style="dim")
    if attributes.get(n.ERROR_TYPE):
        label.append(f"  error {attributes[n.ERROR_TYPE]}", style="red")
    return label


def _scope_label(scope: str) -> str:
    if scope == _ANTHROPIC_SDK_SCOPE:
        return "anthropic sdk"
    return scope or "?"


def metric_total(data: MetricsData | None, name: str = n.METRIC_COST) -> tuple[float, int]:
    """The sum of a counter over all its series, and the number of series."""
    total, series = 0.0, 0
    for metric in _metrics(data):
        if metric.name == name:
            for point in metric.data.data_points:
                total += float(getattr(point, "value", 0.0))
                series += 1
    return total, series


def _metrics(data: MetricsData | None) -> Iterable[Any]:
    if data is None:
        return
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            yield from scope_metrics.metrics
