"""ARM paths are case-insensitive in their fixed segments (`resourcegroups` = `resourceGroups`,
`microsoft.machinelearningservices` = `Microsoft.MachineLearningServices`); ARM clients such as
the deployments API send lower-case forms. This ASGI middleware rewrites the fixed segments of
a path to the canonical case the routes use, leaving resource names untouched.

Fixed segments are the collection names (every other segment, from the first), `providers`, and
the namespace that follows `providers`; the words come from the kinds registry
(`maas.protocol.management.kinds`); after a namespace, collection/name pairs resume.

A path with a `.` or `..` segment (sent percent-encoded, so no client normalised it) is refused
with 400 InvalidRequestUri: ARM scopes are compared as strings, so `rg-a/../rg-b` must never
reach a permission check.
"""

from __future__ import annotations

from types import MappingProxyType

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from maas.protocol.management.kinds import fixed_path_words

DOT_SEGMENTS = frozenset({".", ".."})
CANONICAL = MappingProxyType({w.lower(): w for w in fixed_path_words()})


def canonical_path(path: str) -> str:
    parts = path.split("/")
    out = parts[:1]
    literal = True  # parts[1] is a collection name
    after_providers = False
    for part in parts[1:]:
        if after_providers:
            out.append(CANONICAL.get(part.lower(), part))
            after_providers = False
            literal = True
            continue
        if literal or part.lower() == "providers":
            fixed = CANONICAL.get(part.lower(), part)
            out.append(fixed)
            if fixed == "providers":
                after_providers = True
                literal = False
                continue
            literal = False
        else:
            out.append(part)
            literal = True
    return "/".join(out)


class CanonicalPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if any(part in DOT_SEGMENTS for part in scope["path"].split("/")):
                refusal = JSONResponse(
                    {
                        "error": {
                            "code": "InvalidRequestUri",
                            "message": "The request URI has a '.' or '..' segment; send the "
                            "resource's path without them.",
                        }
                    },
                    status_code=400,
                )
                await refusal(scope, receive, send)
                return
            path = canonical_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
