"""Pricing: usage in, exact Decimal cost out.

    _rates.py        compiled per-unit rates (``Rates``, ``RateSchedule``)
    _bill.py         the cost arithmetic: usage split into parts, each billed once
    _entry.py        ``PriceEntry``: one model's rate schedules and ``price(usage)``
    _schema.py       the pricing-file format (pydantic), TOML/JSON loading
    _genai.py        the genai-prices layer, compiled per model and price period
    _patch.py        additions to genai-prices' entries (``extends`` entries, provider tier rules)
    _update.py       opt-in runtime price update (genai-prices' ``UpdatePrices``)
    _names.py        model-name candidates: prefixes, fine-tunes, dated snapshots, provider hints
    _table.py        the layered ``PricingTable`` and the process-wide default
    supplement.toml  llmmeter's own prices (fine-tuned models, video, rates genai-prices lacks)

Importing this package is cheap: pydantic and genai-prices load on first use.
"""

from __future__ import annotations

from llmmeter._pricing._bill import Charge
from llmmeter._pricing._cost import Cost, CostStatus
from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._table import PRICING_FILE_ENV, PricingTable, get_table, price, set_table

__all__ = [
    "PRICING_FILE_ENV",
    "Charge",
    "Cost",
    "CostStatus",
    "PriceEntry",
    "PricingTable",
    "get_table",
    "price",
    "set_table",
]
