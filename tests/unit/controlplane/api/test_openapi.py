"""The management OpenAPI document describes what a client may send and get back: every route
that reads a body publishes its schema, every error is the ARM envelope, FastAPI's 422 is gone."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from pydantic import SecretStr

from maas.controlplane.api.app import create_app
from maas.controlplane.api.routes import (
    access,
    accounts,
    catalog,
    costs,
    deployments,
    endpoints,
    operations,
    pools,
    quota_requests,
    quotas,
    workspaces,
)
from maas.core.settings import Settings

ROUTE_MODULES = (
    access,
    accounts,
    catalog,
    costs,
    deployments,
    endpoints,
    operations,
    pools,
    quota_requests,
    quotas,
    workspaces,
)


def _spec(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    settings = Settings(
        data_dir=tmp_path, secret=SecretStr("s" * 40), database_url=f"sqlite:///{tmp_path}/x.db"
    )
    app = create_app(settings)
    return app, app.openapi()


def test_every_route_that_reads_a_body_publishes_its_schema(tmp_path: Path) -> None:
    _, spec = _spec(tmp_path)
    schemas = spec["components"]["schemas"]
    documented = 0
    routes = [route for module in ROUTE_MODULES for route in module.router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        source = inspect.getsource(route.endpoint)
        reads = "read_body(" in source or "read_optional_body(" in source
        for method in route.methods:
            operation = spec["paths"][route.path_format][method.lower()]
            body = operation.get("requestBody")
            assert (body is not None) == reads, (method, route.path_format)
            if body:
                assert body["required"] == ("read_body(" in source), (method, route.path_format)
                ref = body["content"]["application/json"]["schema"]["$ref"]
                assert ref.removeprefix("#/components/schemas/") in schemas
                documented += 1
    assert documented >= 17
    # the body schemas are the real ones: ARM bodies forbid unknown fields, aliases are camelCase
    endpoint = schemas["EndpointBody"]
    assert endpoint["additionalProperties"] is False
    assert "modelSettings" in schemas["EndpointProperties"]["properties"]


def test_errors_are_the_arm_envelope_and_success_codes_follow_the_method(tmp_path: Path) -> None:
    _, spec = _spec(tmp_path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = spec["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            default = responses["default"]["content"]["application/json"]["schema"]
            assert default == {"$ref": "#/components/schemas/ErrorResponse"}
            assert operation["security"] == [{"bearer": []}]
            if method == "put":
                assert {"200", "201"} <= set(responses)
            if method == "delete":
                assert {"200", "202", "204"} <= set(responses)
