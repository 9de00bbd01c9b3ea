"""The management API's OpenAPI document, complete enough for a client generator or a fuzzer.

Routes read their bodies themselves (`deps.read_body`: size limit, media type, one clear 400), so
FastAPI cannot see them; a route names its body model with `openapi_extra=json_body(Model)` and
`document` adds the models' JSON Schemas to the components. Every operation also documents:

- its success codes (PUT 200/201, DELETE 200/202/204, POST 200/202); a route that names its
  response model with `returns(Model)` (the ARM envelope and listings of
  `maas.protocol.management.resources`) documents its success bodies with that schema;
- every error as the ARM envelope (`ErrorResponse`), as the `default` response; FastAPI's own 422
  is removed, since a bad path or query parameter is a 400 in the envelope here;
- the bearer token every route but `/health` requires.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from maas.protocol.management.arm import ErrorResponse

REF = "#/components/schemas/{model}"
_BODIES: dict[str, type[BaseModel]] = {}
_RETURNS = "x-maas-returns"
_SUCCESS = {
    "put": {"200": "Updated.", "201": "Created."},
    "delete": {
        "200": "Deleted.",
        "202": "Accepted: the deletion continues (see the Location header).",
        "204": "There was nothing to delete.",
    },
    "post": {"200": "Done.", "202": "Accepted: the operation continues (see the Location header)."},
    "get": {"200": "The resource or listing."},
}


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The `openapi_extra` of a route whose body is `model` (sent as application/json);
    `required=False` for an action whose body may be left out (`deps.read_optional_body`)."""
    _BODIES[model.__name__] = model
    schema = {"$ref": REF.format(model=model.__name__)}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def returns(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra` of a route that answers with `model` (combine with `json_body` by `|`)."""
    _BODIES[model.__name__] = model
    return {_RETURNS: model.__name__}


def document(app: FastAPI) -> dict[str, Any]:
    """Build (once) and return the app's OpenAPI document."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    models: list[type[BaseModel]] = [*_BODIES.values(), ErrorResponse]
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    schemas.update(top.get("$defs", {}))
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A MaaS access token."}
    }
    error = {"$ref": REF.format(model=ErrorResponse.__name__)}
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            responses: dict[str, Any] = {}
            returned = operation.pop(_RETURNS, None)
            success = {"$ref": REF.format(model=returned)} if returned else {}
            for code, text in _SUCCESS.get(method, {"200": "Done."}).items():
                body: dict[str, Any] = (
                    {} if code == "204" else {"content": {"application/json": {"schema": success}}}
                )
                responses[code] = {"description": text, **body}
            responses["default"] = {
                "description": "An error, in the ARM envelope.",
                "content": {"application/json": {"schema": error}},
            }
            operation["responses"] = responses
            operation["security"] = [{"bearer": []}]
    app.openapi_schema = spec
    return spec
