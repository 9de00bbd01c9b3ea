"""A whole template, checked and evaluated into a plan before anything is deployed.

`plan(template, parameters, scope)` validates everything a deployment needs — the template's
shape, parameter values, every expression in variables, resources and outputs, child names
against types, `dependsOn` targets — and orders the resources by their dependencies. Any problem
is one `TemplateError` naming the JSON path (`resources[0].location`), raised before a single
resource is touched: that is what lets a deployment promise "nothing half deployed" for
template mistakes. The plan's resources are concrete ARM ids and bodies, ready for the services.
Every size and count ARM limits, and the work evaluation may do, is bounded (`limits.py`);
ordering is linear in the resources and their `dependsOn` entries.

Not supported (refused with a clear error rather than ignored): `copy` loops, `scope`,
user-defined `functions`, `reference()`/`list*()`, Key Vault parameter references.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maas.templates import limits
from maas.templates import parameters as params
from maas.templates.errors import FAILED, ExpressionError, TemplateError
from maas.templates.expressions import evaluate_string, type_name
from maas.templates.functions import DeploymentScope, function_table

_TOP = {"$schema", "contentversion", "apiprofile", "metadata", "parameters", "variables", "functions"}
_TOP |= {"resources", "outputs"}
_BODY = ("location", "sku", "kind", "tags", "properties", "plan", "identity", "zones")
_RESOURCE = {"condition", "type", "apiversion", "name", "dependson", "resources", "comments", "metadata"}
_RESOURCE |= {b.lower() for b in _BODY}
_UNSUPPORTED = {"copy": "copy loops", "scope": "'scope' (extension resources)"}
MAX_DEPTH = 5


@dataclass(frozen=True)
class PlannedResource:
    id: str
    type: str
    names: tuple[str, ...]
    api_version: str
    body: dict[str, Any]
    path: str
    depends_on: tuple[str, ...]  # ids of resources in this template


@dataclass(frozen=True)
class DeploymentPlan:
    resources: list[PlannedResource]
    parameters: dict[str, Any]  # as a deployment echoes them: {"name": {"type", "value"}}
    outputs: dict[str, Any]  # {"name": {"type": "String", "value": …}}
    template_hash: str


def _canonical(template: Any) -> str:
    return json.dumps(template, sort_keys=True, separators=(",", ":"))


def template_hash(template: Any, canonical: str | None = None) -> str:
    text = _canonical(template) if canonical is None else canonical
    digest = hashlib.sha256(text.encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 1)


class _Evaluator:
    def __init__(self, template: Mapping[str, Any], scope: DeploymentScope) -> None:
        self.declared = params.declarations(template.get("parameters"))
        self.values: Mapping[str, Any] = {}
        raw_variables = template.get("variables") or {}
        if not isinstance(raw_variables, dict):
            raise TemplateError(FAILED + "'variables' must be an object.", "variables")
        if "copy" in raw_variables:
            raise TemplateError(FAILED + "Variable copy loops are not supported by MaaS.", "variables.copy")
        if len(raw_variables) > limits.MAX_VARIABLES:
            message = limits.count_exceeded("variables", limits.MAX_VARIABLES, len(raw_variables))
            raise TemplateError(FAILED + message, "variables")
        self.raw_variables = {k.lower(): (k, v) for k, v in raw_variables.items()}
        self.variables: dict[str, Any] = {}
        self.resolving: list[str] = []
        self.table = function_table(scope, self.parameter, self.variable)
        self.budget = limits.Budget()

    def parameter(self, name: str) -> Any:
        if name.lower() not in self.values:
            raise ExpressionError(
                f"The template parameter '{name}' is not found. Please see "
                "https://aka.ms/arm-template-structure for usage details."
            )
        value = self.values[name.lower()]
        self.budget.reference(f"parameters.{name.lower()}", value)
        return value

    def variable(self, name: str) -> Any:
        """A variable's value, for `variables()`: each use is charged to the budget."""
        value = self.resolve(name)
        self.budget.reference(f"variables.{name.lower()}", value)
        return value

    def resolve(self, name: str) -> Any:
        key = name.lower()
        if key in self.variables:
            return self.variables[key]
        if key not in self.raw_variables:
            raise ExpressionError(
                f"The template variable '{name}' is not found. Please see "
                "https://aka.ms/arm-template-structure for usage details."
            )
        real, raw = self.raw_variables[key]
        if key in self.resolving:
            chain = " -> ".join([*self.resolving[self.resolving.index(key) :], key])
            raise TemplateError(
                FAILED + f"The template variable '{real}' refers to itself: {chain}.", f"variables.{real}"
            )
        self.resolving.append(key)
        try:
            self.variables[key] = self.value(raw, f"variables.{real}")
        finally:
            self.resolving.pop()
        return self.variables[key]

    def value(self, raw: Any, path: str) -> Any:
        """`raw` with every expression in it evaluated; object members that come out null are dropped."""
        if isinstance(raw, str):
            try:
                return evaluate_string(raw, self.table, self.budget.result)
            except ExpressionError as exc:
                raise TemplateError(
                    f"Unable to process template language expressions at '{path}'. '{exc}'", path
                ) from None
        if isinstance(raw, list):
            return [self.value(item, f"{path}[{i}]") for i, item in enumerate(raw)]
        if isinstance(raw, dict):
            out = {k: self.value(v, f"{path}.{k}") for k, v in raw.items()}
            return {k: v for k, v in out.items() if v is not None}
        return raw

    def text(self, raw: Any, path: str, what: str) -> str:
        value = self.value(raw, path)
        if not isinstance(value, str) or not value:
            raise TemplateError(FAILED + f"The resource's '{what}' must be a non-empty string.", path)
        return value


@dataclass
class _Draft:
    resource: PlannedResource
    depends: list[tuple[str, str]]  # (as written, path)
    parent: str | None
    skipped: bool = False  # its condition was false


def _resource_id(scope: DeploymentScope, type_: str, names: list[str]) -> str:
    segments = type_.split("/")
    group = f"/subscriptions/{scope.subscription_id}/resourceGroups/{scope.resource_group}"
    out = f"{group}/providers/{segments[0]}"
    for segment, name in zip(segments[1:], names, strict=True):
        out += f"/{segment}/{name}"
    return out


def _collect(
    ev: _Evaluator, scope: DeploymentScope, raw: Any, path: str, parent: PlannedResource | None, depth: int
) -> list[_Draft]:
    if not isinstance(raw, list):
        raise TemplateError(FAILED + "'resources' must be an array.", path)
    if depth > MAX_DEPTH:
        raise TemplateError(FAILED + f"Child resources nest at most {MAX_DEPTH} levels deep.", path)
    drafts: list[_Draft] = []
    for i, item in enumerate(raw):
        here = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise TemplateError(FAILED + "A resource must be an object.", here)
        keys = {k.lower(): k for k in item}
        for key, real in keys.items():
            if key in _UNSUPPORTED:
                raise TemplateError(
                    FAILED + f"{_UNSUPPORTED[key]} are not supported by MaaS.", f"{here}.{real}"
                )
            if key not in _RESOURCE:
                raise TemplateError(
                    FAILED + f"The resource has an unknown property '{real}'.", f"{here}.{real}"
                )
        enabled = ev.value(item[keys["condition"]], f"{here}.condition") if "condition" in keys else True
        if not isinstance(enabled, bool):
            raise TemplateError(FAILED + "A resource's condition must be a boolean.", f"{here}.condition")
        for required in ("type", "apiversion", "name"):
            if required not in keys:
                label = {"apiversion": "apiVersion"}.get(required, required)
                raise TemplateError(FAILED + f"The resource has no '{label}'.", f"{here}.{label}")
        type_ = ev.text(item[keys["type"]], f"{here}.type", "type").strip("/")
        name = ev.text(item[keys["name"]], f"{here}.name", "name").strip("/")
        api_version = ev.text(item[keys["apiversion"]], f"{here}.apiVersion", "apiVersion")
        if parent is not None and "/" not in type_:
            type_, name = f"{parent.type}/{type_}", f"{'/'.join(parent.names)}/{name}"
        segments, names = type_.split("/"), name.split("/")
        if len(segments) < 2 or len(names) != len(segments) - 1:
            raise TemplateError(
                FAILED + f"The template resource '{name}' for type '{type_}' has incorrect segment lengths. "
                "A nested resource type must have identical number of segments as its resource name. A "
                "root resource type must have segment length one greater than its resource name.",
                f"{here}.name",
            )
        resource = PlannedResource(
            _resource_id(scope, type_, names), type_, tuple(names), api_version, {}, here, ()
        )
        if not enabled:  # kept so that dependsOn may name it; deployed neither it nor its children
            drafts.append(_Draft(resource, [], parent.id if parent else None, skipped=True))
            continue
        body = {}
        for field in _BODY:
            if field in keys:
                value = ev.value(item[keys[field]], f"{here}.{keys[field]}")
                if value is not None:
                    body[field] = value
        resource = PlannedResource(resource.id, type_, tuple(names), api_version, body, here, ())
        depends_raw = ev.value(item.get(keys.get("dependson", ""), []), f"{here}.dependsOn")
        if not isinstance(depends_raw, list) or not all(isinstance(d, str) for d in depends_raw):
            raise TemplateError(FAILED + "'dependsOn' must be an array of strings.", f"{here}.dependsOn")
        depends = [(d, f"{here}.dependsOn[{j}]") for j, d in enumerate(depends_raw)]
        drafts.append(_Draft(resource, depends, parent.id if parent else None))
        if "resources" in keys:
            drafts += _collect(ev, scope, item[keys["resources"]], f"{here}.resources", resource, depth + 1)
    return drafts


class _Targets:
    """What a `dependsOn` entry may name, indexed: an id, `type/names`, `names`, or the last name."""

    def __init__(self, drafts: list[_Draft]) -> None:
        self.keys: list[defaultdict[str, list[str]]] = [defaultdict(list) for _ in range(4)]
        for draft in drafts:
            r = draft.resource
            names = "/".join(r.names)
            for table, key in zip(self.keys, (r.id, f"{r.type}/{names}", names, r.names[-1]), strict=True):
                table[key.lower()].append(r.id)

    @staticmethod
    def key(written: str) -> tuple[bool, str]:
        """What a lookup depends on: entries with the same key find the same resources."""
        if "/providers/" in written.lower():
            return True, written.rstrip("/").lower()
        return False, written.strip("/").lower()

    def find(self, key: tuple[bool, str]) -> list[str]:
        is_id, wanted = key
        for table in self.keys[:1] if is_id else self.keys[1:]:
            if wanted in table:
                return list(table[wanted])
        return []


def _order(drafts: list[_Draft]) -> list[PlannedResource]:
    seen: dict[str, str] = {}
    for draft in drafts:
        key = draft.resource.id.lower()
        if key in seen:
            raise TemplateError(
                FAILED + f"The resource '{draft.resource.id}' is defined multiple times in a template.",
                f"{draft.resource.path}.name",
            )
        seen[key] = draft.resource.id
    targets = _Targets(drafts)
    skipped = {d.resource.id for d in drafts if d.skipped}
    enabled = {d.resource.id.lower() for d in drafts if not d.skipped}
    resolved: list[PlannedResource] = []
    for draft in drafts:
        if draft.skipped:
            continue
        needs: list[str] = []
        looked: set[tuple[bool, str]] = set()  # a repeated entry is looked up once
        for written, path in draft.depends:
            lookup = targets.key(written)
            if lookup in looked:
                continue
            looked.add(lookup)
            found = targets.find(lookup)
            if not found:
                raise TemplateError(FAILED + f"The resource '{written}' is not defined in a template.", path)
            needs += [f for f in found if f not in skipped]  # ARM drops dependencies on skipped ones
        parent = draft.resource.id.rsplit("/", 2)[0].lower()
        needs += [seen[parent]] if parent in enabled else []
        deps = tuple(dict.fromkeys(needs))
        resolved.append(PlannedResource(**{**draft.resource.__dict__, "depends_on": deps}))
    # Template order wherever the dependencies allow: always the first resource that is ready.
    position = {r.id.lower(): i for i, r in enumerate(resolved)}
    waiting = [len(r.depends_on) for r in resolved]
    dependents: defaultdict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(resolved):
        for d in r.depends_on:
            dependents[position[d.lower()]].append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    ordered: list[PlannedResource] = []
    while ready:
        i = heapq.heappop(ready)
        ordered.append(resolved[i])
        for j in dependents[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(ordered) < len(resolved):
        stuck = next(r for i, r in enumerate(resolved) if waiting[i] > 0)
        raise TemplateError(
            FAILED + f"Circular dependency detected on resource: '{stuck.id}'.", f"{stuck.path}.dependsOn"
        )
    return ordered


def _outputs(ev: _Evaluator, raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in limits.section(raw, "outputs", limits.MAX_OUTPUTS).items():
        path = f"outputs.{name}"
        if not isinstance(spec, dict):
            raise TemplateError(FAILED + f"The output '{name}' must be an object.", path)
        lowered = {k.lower(): v for k, v in spec.items()}
        if "copy" in lowered:
            raise TemplateError(FAILED + "Output copy loops are not supported by MaaS.", f"{path}.copy")
        type_ = lowered.get("type")
        if not isinstance(type_, str) or type_.lower() not in params.TYPES:
            raise TemplateError(FAILED + f"The output '{name}' has type '{type_}'.", f"{path}.type")
        canonical = params.TYPES[type_.lower()]
        value = ev.value(lowered.get("value"), f"{path}.value")
        expected = {"Int": "Integer", "Bool": "Boolean", "SecureString": "String", "SecureObject": "Object"}
        if type_name(value) != expected.get(canonical, canonical):
            raise TemplateError(
                FAILED
                + f"The output '{name}' is declared '{canonical}' but its value is {type_name(value)}.",
                f"{path}.value",
            )
        # ARM never returns the values of secure outputs.
        out[name] = (
            {"type": canonical} if canonical.startswith("Secure") else {"type": canonical, "value": value}
        )
    return out


def plan(template: Any, supplied: Any, scope: DeploymentScope) -> DeploymentPlan:
    try:
        return _plan(template, supplied, scope)
    except RecursionError:
        raise TemplateError(FAILED + "The template nests too deeply to evaluate.", "template") from None


def _plan(template: Any, supplied: Any, scope: DeploymentScope) -> DeploymentPlan:
    if not isinstance(template, dict):
        raise TemplateError(FAILED + "The template must be a JSON object.", "template")
    canonical = _canonical(template)
    limits.check_sent(len(canonical), "template")
    if supplied is not None:
        limits.check_sent(len(_canonical(supplied)), "parameters")
    for key in template:
        if key.lower() not in _TOP:
            raise TemplateError(FAILED + f"The template has an unknown property '{key}'.", key)
    if template.get("functions"):
        raise TemplateError(FAILED + "User-defined functions are not supported by MaaS.", "functions")
    if "resources" not in template:
        raise TemplateError(FAILED + "The template has no 'resources' array.", "resources")
    if (count := limits.count_resources(template["resources"])) > limits.MAX_RESOURCES:
        raise TemplateError(
            FAILED + limits.count_exceeded("resources", limits.MAX_RESOURCES, count), "resources"
        )
    ev = _Evaluator(template, scope)
    raw_params = template.get("parameters") or {}

    def default(decl: params.Declaration, so_far: Mapping[str, Any]) -> Any:
        ev.values = so_far
        real = next(k for k in raw_params[decl.name] if k.lower() == "defaultvalue")
        return ev.value(raw_params[decl.name][real], f"parameters.{decl.name}.{real}")

    ev.values = params.resolve(ev.declared, supplied, default)
    for _key, (real, _raw) in ev.raw_variables.items():
        ev.resolve(real)
    resources = _order(_collect(ev, scope, template["resources"], "resources", None, 1))
    result = DeploymentPlan(
        resources=resources,
        parameters=params.echo(ev.declared, ev.values),
        outputs=_outputs(ev, template.get("outputs")),
        template_hash=template_hash(template, canonical),
    )
    limits.check_evaluated(
        [(r.id, r.path, r.body) for r in resources],
        {"outputs": result.outputs, "parameters": result.parameters},
    )
    return result
