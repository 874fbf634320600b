"""The public surface: exactly the names DESIGN.md promises, importable, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import llmmeter

CONTRACT = {
    "AsyncMeteredTransport",
    "BudgetExceeded",
    "BudgetUnavailable",
    "ConfigurationError",
    "Cost",
    "LLMMeterError",
    "MeteredTransport",
    "PricingFileError",
    "PricingTable",
    "Spend",
    "Usage",
    "__version__",
    "attributes",
    "budget",
    "budget_status",
    "configure",
    "instrument",
    "meter_client",
    "price",
    "track",
    "uninstrument",
}


def test_all_is_the_contract_and_sorted():
    """__all__ lists exactly the public names, sorted; nothing leaks and nothing is missing."""
    assert set(llmmeter.__all__) == CONTRACT
    assert list(llmmeter.__all__) == sorted(llmmeter.__all__)


def test_every_public_name_resolves():
    """Each name in __all__ can be read from the package."""
    for name in llmmeter.__all__:
        assert getattr(llmmeter, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    """A name outside the surface raises AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="not_a_thing"):
        llmmeter.not_a_thing  # type: ignore[attr-defined]  # noqa: B018


def test_import_loads_no_heavy_dependency():
    """`import llmmeter` loads neither the price database, pydantic, the SDKs nor the capture code."""
    code = (
        "import sys, llmmeter; "
        "heavy = [m for m in ('genai_prices', 'pydantic', 'httpx', 'httpx2', 'openai', 'langchain_core', "
        "'opentelemetry.sdk', 'llmmeter._capture') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
