"""Which meter a request's tokens land on: the offer's paid meter at its price, or, when the offer
does not price a side, that side's free meter at 0 — never a paid meter at price 0."""

from __future__ import annotations

import orjson
import pytest

from maas.billing.meters import (
    FREE_INPUT_TOKENS,
    FREE_OUTPUT_TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    Price,
    PriceList,
    price_list,
    priced,
)
from maas.billing.records import UsageRecord


def sides(prices: PriceList) -> tuple[tuple[str, str], tuple[str, str]]:
    return (prices.input.meter_id, prices.input.per_1k), (prices.output.meter_id, prices.output.per_1k)


@pytest.mark.parametrize(
    ("meters", "expected"),
    [
        ([], ((FREE_INPUT_TOKENS, "0"), (FREE_OUTPUT_TOKENS, "0"))),  # the free embedding model's offer
        (
            [
                {"meterId": INPUT_TOKENS, "pricePer1K": 0.0003},
                {"meterId": OUTPUT_TOKENS, "pricePer1K": 0.0006},
            ],
            ((INPUT_TOKENS, "0.0003"), (OUTPUT_TOKENS, "0.0006")),
        ),
        ([{"meterId": INPUT_TOKENS, "pricePer1K": 0.5}], ((INPUT_TOKENS, "0.5"), (FREE_OUTPUT_TOKENS, "0"))),
        (
            [{"meterId": INPUT_TOKENS, "pricePer1K": 0}, {"meterId": OUTPUT_TOKENS, "pricePer1K": "0.000"}],
            ((FREE_INPUT_TOKENS, "0"), (FREE_OUTPUT_TOKENS, "0")),
        ),
        (
            [{"meterId": "PAYGO-Inference-Output-Tokens", "pricePer1K": 2}],
            ((FREE_INPUT_TOKENS, "0"), (OUTPUT_TOKENS, "2")),
        ),
    ],
)
def test_unpriced_sides_are_on_their_free_meter(meters: list[dict[str, object]], expected: object) -> None:
    assert sides(price_list(meters)) == expected


def test_priced() -> None:
    assert priced(INPUT_TOKENS, "0.0003", "EUR") == Price(INPUT_TOKENS, "0.0003", "EUR")
    assert priced(OUTPUT_TOKENS, "0", "EUR") == Price(FREE_OUTPUT_TOKENS, "0", "EUR")
    assert priced(INPUT_TOKENS, "0.00", "USD") == Price(FREE_INPUT_TOKENS, "0", "USD")
    assert priced("another-meter", "0", "USD") == Price("another-meter", "0", "USD")


def test_a_line_journaled_before_free_meters_replays_onto_them() -> None:
    record = UsageRecord(
        request_id="r1",
        endpoint_id="/subscriptions/s/resourceGroups/rg/providers/x/workspaces/w/serverlessEndpoints/e",
        subscription="s",
        resource_group="rg",
        workspace="w",
        billed_resource_id="/subscriptions/s/resourceGroups/rg/providers/x/workspaces/w/serverlessEndpoints/e",
        model_id="m",
        offer_id=None,
        region="eastus2",
        route="embeddings",
        input_tokens=6,
        output_tokens=0,
        prices=PriceList(Price(INPUT_TOKENS, "0", "USD"), Price(OUTPUT_TOKENS, "0", "USD")),  # the old shape
        status="Succeeded",
        started_at=1.0,
        ended_at=2.0,
    )
    replayed = UsageRecord.from_line(record.to_line())
    assert sides(replayed.prices) == ((FREE_INPUT_TOKENS, "0"), (FREE_OUTPUT_TOKENS, "0"))
    assert [m["meterId"] for m in replayed.row()["meters"]] == [FREE_INPUT_TOKENS, FREE_OUTPUT_TOKENS]
    assert orjson.loads(record.to_line())["prices"]["input"]["meter_id"] == INPUT_TOKENS
