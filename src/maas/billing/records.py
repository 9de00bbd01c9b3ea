"""A usage record: what one metered request used, where, at what price — and its journal line.

One record per request that an endpoint's engine answered (see `maas.billing.ledger` for when
and how it is written). `request_id` is the response's `x-request-id` and the table's primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from maas.billing.meters import PriceList, priced
from maas.core.ids import key_of


class Status:
    SUCCEEDED = "Succeeded"  # the whole answer was produced
    CLIENT_CLOSED = "ClientClosed"  # the client left mid-stream: what was generated is billed
    FAILED = "Failed"  # the model failed mid-stream: what was generated is billed


@dataclass(slots=True)
class UsageRecord:
    request_id: str
    endpoint_id: str
    subscription: str
    resource_group: str
    workspace: str
    billed_resource_id: str  # the SaaS resource of a marketplace offer, else the endpoint
    model_id: str
    offer_id: str | None
    region: str
    route: str
    input_tokens: int
    output_tokens: int
    prices: PriceList
    status: str
    started_at: float
    ended_at: float

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "endpoint_key": key_of(self.endpoint_id),
            "endpoint_id": self.endpoint_id,
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "workspace": self.workspace,
            "billed_resource_id": self.billed_resource_id,
            "model_id": self.model_id,
            "offer_id": self.offer_id,
            "region": self.region,
            "route": self.route,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "meters": [
                {"meterId": p.meter_id, "quantity": q, "pricePer1K": p.per_1k, "currency": p.currency}
                for p, q in self.prices.quantities(self.input_tokens, self.output_tokens)
            ],
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }

    def to_line(self) -> bytes:
        return orjson.dumps(self) + b"\n"  # orjson serialises (slotted) dataclasses natively

    @classmethod
    def from_line(cls, line: bytes) -> UsageRecord:
        data = orjson.loads(line)
        prices = data.pop("prices")
        # `priced`, not `Price`: a line journaled before free meters existed put free tokens on
        # the paid meter at price 0; replayed, they land on the free meter like new ones
        data["prices"] = PriceList(priced(**prices["input"]), priced(**prices["output"]))
        return cls(**data)
