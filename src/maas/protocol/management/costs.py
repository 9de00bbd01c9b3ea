"""The Cost Management query body (`QueryDefinition`, api-version 2023-11-01), as Azure's clients
send it to `POST {scope}/providers/Microsoft.CostManagement/query`.

Fields are in the spec's order and spelt as on the wire. Like every management body, unknown
fields are refused, so a misspelt `granulairty` is a 400 rather than a silently unbucketed answer.
Deviations from the spec, on purpose:

* `granularity` also takes `Monthly` (real clients send it; the swagger enum has only `Daily`)
  and our extension `Hourly`.
* `grouping[].type` and `filter.tags` accept `TagKey`/tags so the answer can be a clear 400 (usage
  is not recorded by tag) instead of a schema error.
* `filter` nests at most `MAX_FILTER_DEPTH` levels.

Which dimension and column names are known is the service's business (`maas.billing.costs`),
not the schema's: they are plain strings here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from maas.protocol.management.arm import Strict

QueryType = Literal["Usage", "ActualCost", "AmortizedCost"]
Timeframe = Literal[
    "MonthToDate", "BillingMonthToDate", "TheLastMonth", "TheLastBillingMonth", "WeekToDate", "Custom"
]
Granularity = Literal["Daily", "Monthly", "Hourly"]
MAX_FILTER_DEPTH = 8
MAX_FILTER_VALUES = 1000


class QueryTimePeriod(Strict):
    from_: datetime = Field(alias="from")
    to: datetime


class QueryDatasetConfiguration(Strict):
    """Accepted for compatibility and ignored: `aggregation` and `grouping` decide the columns."""

    columns: list[str] = Field(default_factory=list, max_length=64)


class QueryAggregation(Strict):
    name: str = Field(min_length=1, max_length=128)
    function: Literal["Sum"]


class QueryGrouping(Strict):
    type: Literal["Dimension", "TagKey"]
    name: str = Field(min_length=1, max_length=128)


class QueryComparisonExpression(Strict):
    name: str = Field(min_length=1, max_length=128)
    operator: Literal["In"]
    values: list[str] = Field(min_length=1, max_length=MAX_FILTER_VALUES)


class QueryFilter(Strict):
    """Exactly one of `and`, `or` (each of at least two filters), `dimensions` or `tags`."""

    and_: list[QueryFilter] | None = Field(default=None, alias="and", min_length=2)
    or_: list[QueryFilter] | None = Field(default=None, alias="or", min_length=2)
    dimensions: QueryComparisonExpression | None = None
    tags: QueryComparisonExpression | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> QueryFilter:
        given = [x for x in (self.and_, self.or_, self.dimensions, self.tags) if x is not None]
        if len(given) != 1:
            raise ValueError("a filter holds exactly one of 'and', 'or', 'dimensions' or 'tags'")
        if self.depth > MAX_FILTER_DEPTH:
            raise ValueError(f"filters nest at most {MAX_FILTER_DEPTH} levels deep")
        return self

    @property
    def depth(self) -> int:
        children = self.and_ or self.or_ or []
        return 1 + max((child.depth for child in children), default=0)


class QueryDataset(Strict):
    granularity: Granularity | None = None
    configuration: QueryDatasetConfiguration | None = None
    aggregation: dict[str, QueryAggregation] = Field(default_factory=dict, max_length=2)
    grouping: list[QueryGrouping] = Field(default_factory=list, max_length=2)
    filter: QueryFilter | None = None


class QueryDefinition(Strict):
    type: QueryType
    timeframe: Timeframe
    time_period: QueryTimePeriod | None = Field(default=None, alias="timePeriod")
    dataset: QueryDataset
