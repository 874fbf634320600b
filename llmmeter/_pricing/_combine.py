"""One call billed at two models' rates: a hosted tool's cost added to the model's own."""

from __future__ import annotations

from llmmeter._pricing._bill import ZERO
from llmmeter._pricing._cost import Cost

__all__ = ["with_tool_cost"]


def with_tool_cost(cost: Cost, tool: Cost, tool_name: str) -> Cost:
    """``cost`` plus the cost of a tool the call used (the Responses API's image generation, billed at
    the image model's rates), whose components are named ``{tool_name}_{component}``.

    The model's entry, tier and source stay the call's. A tool whose price is unknown leaves the
    total as it is and makes it ``estimated`` (a part is missing); a call whose own model is unknown
    keeps ``total=None``: a partial sum is never reported as the call's cost.
    """
    if cost.total is None:
        return cost
    if tool.total is None:
        if tool.status == "no_usage":
            return cost
        return Cost(cost.total, cost.components, "estimated", cost.model, cost.source, cost.service_tier)
    components = dict(cost.components)
    for component, amount in tool.components.items():
        name = f"{tool_name}_{component}"
        components[name] = components.get(name, ZERO) + amount
    status = "estimated" if "estimated" in (cost.status, tool.status) else cost.status
    return Cost(cost.total + tool.total, components, status, cost.model, cost.source, cost.service_tier)
