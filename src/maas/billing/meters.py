"""Meters, prices and what one request puts on them.

An offer prices meters per 1,000 units (`pricePer1K`, `currency`). Inference uses two paid meters,
the ones Azure's marketplace offers use: `paygo-inference-input-tokens` (prompt tokens) and
`paygo-inference-output-tokens` (generated tokens). Every request is metered on both sides: at the
offer's price on the paid meter, or, when the offer does not price that side (a free model, whose
offer has `meters: []`, or a price of 0), on the free meter of that side
(`free-inference-input-tokens`, `free-inference-output-tokens`) at price 0. So free models still
show usage, a paid meter only ever counts tokens that were paid for, and every total row keyed by
meter satisfies quantity × price = cost; free tokens never carry a paid price.
Prices are kept as decimal text and costs computed with `Decimal`, so a month of totals adds up
to the cent exactly (binary floats would not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

INPUT_TOKENS = "paygo-inference-input-tokens"
OUTPUT_TOKENS = "paygo-inference-output-tokens"
FREE_INPUT_TOKENS = "free-inference-input-tokens"
FREE_OUTPUT_TOKENS = "free-inference-output-tokens"
FREE_METERS = {INPUT_TOKENS: FREE_INPUT_TOKENS, OUTPUT_TOKENS: FREE_OUTPUT_TOKENS}
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class Price:
    meter_id: str
    per_1k: str  # decimal text, e.g. "0.0001"
    currency: str


@dataclass(frozen=True, slots=True)
class PriceList:
    """What an endpoint's offer charges for its two inference meters."""

    input: Price
    output: Price

    def quantities(self, input_tokens: int, output_tokens: int) -> tuple[tuple[Price, int], ...]:
        return ((self.input, input_tokens), (self.output, output_tokens))


def decimal_text(value: Any) -> str:
    """A price as exact decimal text: 0.0001 → '0.0001' (via repr, not the binary expansion)."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def priced(meter_id: str, per_1k: str, currency: str) -> Price:
    """What a side is metered on: its paid meter at `per_1k`, or its free meter when that is 0."""
    if Decimal(per_1k) == 0:
        return Price(FREE_METERS.get(meter_id, meter_id), "0", currency)
    return Price(meter_id, per_1k, currency)


def price_list(meters: Iterable[Mapping[str, Any]]) -> PriceList:
    """The inference price list from an offer's `meters` (as stored on the offer)."""
    by_id = {str(m.get("meterId", "")).lower(): m for m in meters}
    currency = next((str(m.get("currency") or DEFAULT_CURRENCY) for m in by_id.values()), DEFAULT_CURRENCY)

    def one(meter_id: str) -> Price:
        meter = by_id.get(meter_id)
        if meter is None:
            return priced(meter_id, "0", currency)
        return priced(
            meter_id, decimal_text(meter.get("pricePer1K", 0)), str(meter.get("currency") or currency)
        )

    return PriceList(one(INPUT_TOKENS), one(OUTPUT_TOKENS))


def cost(quantity: int, per_1k: str) -> Decimal:
    return Decimal(quantity) * Decimal(per_1k) / 1000
