"""Studio's left sidebar: one entry per area, in the seed's words.

A page marks its entry with `render.page(..., nav="catalog")`. An entry with `visible` shows only
to callers it returns True for (Operator: Owners at `/`). Pages not built yet still have their
entry: it leads to Studio's "not found" page until they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maas.controlplane.services.context import Caller

__all__ = ["NAV", "NavItem", "is_operator", "items_for"]

OPERATOR_ACTION = "Microsoft.Authorization/roleAssignments/write"


def is_operator(caller: Caller) -> bool:
    """Who sees the operator pages: whoever may assign roles at `/` (the Owner there)."""
    return caller.can(OPERATOR_ACTION, "/")


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    visible: Callable[[Caller], bool] | None = None


NAV: list[NavItem] = [
    NavItem("catalog", "Model catalog", "/studio/catalog"),
    NavItem("endpoints", "Endpoints", "/studio/endpoints"),
    NavItem("resource-groups", "Resource groups", "/studio/resource-groups"),
    NavItem("connections", "Connections", "/studio/connections"),
    NavItem("costs", "Costs", "/studio/costs"),
    NavItem("quota", "Quota", "/studio/quota"),
    NavItem("access", "Access control", "/studio/access"),
    NavItem("activity", "Activity log", "/studio/activity"),
    NavItem("operator", "Operator", "/studio/operator", visible=is_operator),
]


def items_for(caller: Caller) -> list[NavItem]:
    return [item for item in NAV if item.visible is None or item.visible(caller)]
