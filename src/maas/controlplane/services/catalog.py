"""The model catalog: registries → models → versions, each version with its model card.

Serverless endpoints name a model without a version and always get the latest one; `resolve`
is the one place that rule lives. Versions sort numerically where they are numbers ("10" > "9").
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud
from maas.controlplane.services.context import (
    Caller,
    Saved,
    Services,
    new_resource,
    require_resource,
    touch,
)
from maas.controlplane.store.claims import MODEL_VERSION_IN_USE
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest, Conflict, NotFound
from maas.core.ids import (
    MODEL_TYPE,
    MODEL_VERSION_TYPE,
    REGISTRY_TYPE,
    ModelId,
    model_resource_id,
    model_version_resource_id,
    registry_id,
)
from maas.core.netpolicy import parse_address, refused_address, refused_hostname
from maas.core.shipped import SHIPPED_PREFIX, resolve_path
from maas.protocol.management import kinds
from maas.protocol.management.catalog import Artifact, ArtifactKind, ModelVersionBody, RegistryBody
from maas.protocol.management.naming import ResourceKind, validate_name

REGISTRIES = kinds.REGISTRY.action


def version_order(version: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))


def _check_upstream_url(url: str, allow_private: bool) -> None:
    """Refuse an upstream URL that is not http(s) or that reaches a refused address (the rule is in
    `maas.core.netpolicy`). The name is resolved here once; the relay checks again at every
    connection, so this is the early, clear answer, not the only guard."""
    target = "properties.artifact.url"
    try:
        parsed = urlparse(url)
        host = parsed.hostname if parsed.scheme in ("http", "https") else None
    except ValueError:  # a malformed [IPv6] host
        host = None
    if not host:
        raise BadRequest(f"The upstream URL '{url}' must be an http or https URL.", target=target)
    named = refused_hostname(host)
    if named is not None:
        raise _address_not_allowed(url, host, named)
    literal = parse_address(host)
    if literal is not None:
        addresses = {literal}
    else:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            if allow_private:
                return  # a name that only resolves where the gateway runs; it checks at connect time
            raise BadRequest(
                f"The upstream URL's host '{host}' does not resolve ({exc}); an upstream must resolve "
                "when it is registered so that its address can be checked, unless the operator "
                "allows private upstreams (MAAS_ALLOW_PRIVATE_UPSTREAMS).",
                code="UpstreamHostNotResolved",
                target=target,
            ) from exc
        addresses = {address for info in infos if (address := parse_address(str(info[4][0])))}
    for address in sorted(addresses, key=str):
        reason = refused_address(address)
        if reason is not None:
            raise _address_not_allowed(url, str(address), reason)


def _address_not_allowed(url: str, address: str, reason: str) -> BadRequest:
    return BadRequest(
        f"The upstream URL '{url}' reaches {address} ({reason}). A link-local or metadata address, "
        "or an unspecified, multicast or reserved one, is never relayed to, whatever "
        "MAAS_ALLOW_PRIVATE_UPSTREAMS says.",
        code="UpstreamAddressNotAllowed",
        target="properties.artifact.url",
    )


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(4)
    except OSError:
        return b""


def _is_file(path: Path) -> bool:
    """False, not an error, for a path the OS refuses (too long, a NUL byte, no permission)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def check_artifact(artifact: Artifact, allow_private: bool) -> dict[str, Any]:
    """Validate where the weights are, and return the artifact as stored (no secrets)."""
    target = "properties.artifact"
    if artifact.kind is ArtifactKind.HUGGINGFACE:
        path = Path(resolve_path(artifact.path or ""))
        if not artifact.path or not _is_file(path / "config.json"):
            raise BadRequest(
                f"'{artifact.path}' is not a Hugging Face model folder (no config.json).",
                code="InvalidArtifact",
                target=f"{target}.path",
            )
        shipped = (artifact.path or "").startswith(SHIPPED_PREFIX)
        stored: dict[str, Any] = {
            "kind": str(artifact.kind),
            "path": artifact.path if shipped else str(path.resolve()),
        }
    elif artifact.kind is ArtifactKind.GGUF:
        path = Path(artifact.path or "")
        if not artifact.path or not _is_file(path) or _magic(path) != b"GGUF":
            raise BadRequest(
                f"'{artifact.path}' is not a GGUF file.",
                code="InvalidArtifact",
                target=f"{target}.path",
            )
        stored = {"kind": str(artifact.kind), "path": str(path.resolve())}
    elif artifact.kind is ArtifactKind.OPENAI_UPSTREAM:
        if not artifact.url:
            raise BadRequest(
                "An openai-upstream artifact needs a 'url'.",
                code="InvalidArtifact",
                target=f"{target}.url",
            )
        _check_upstream_url(artifact.url, allow_private)
        stored = {"kind": str(artifact.kind), "url": artifact.url.rstrip("/")}
        if artifact.upstream_model:
            stored["upstreamModel"] = artifact.upstream_model
        stored["hasApiKey"] = artifact.api_key is not None
    else:
        stored = {"kind": str(artifact.kind)}
        if artifact.path:
            stored["path"] = artifact.path
    return stored


# -- registries ------------------------------------------------------------------------------
def put_registry(services: Services, caller: Caller, name: str, body: RegistryBody) -> Saved[Resource]:
    validate_name(ResourceKind.REGISTRY, name)
    rid = registry_id(name)
    caller.require(f"{REGISTRIES}/write", rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        resource, created = _ensure_registry(repo, caller, name, body.properties.description, body.tags)
    return Saved(resource, created)


def _ensure_registry(
    repo: Repository,
    caller: Caller,
    name: str,
    description: str | None,
    tags: dict[str, str] | None = None,
) -> tuple[Resource, bool]:
    """Create the registry, or update it; `None` leaves a field as it is (implicit creation)."""
    rid = registry_id(name)
    existing = repo.get(rid, for_update=True)
    properties = {"description": description or ""} if existing is None else existing.properties
    if existing is not None and description is not None:
        properties = {**properties, "description": description}
    wanted_tags = tags if tags is not None else (existing.tags if existing is not None else {})
    resource = crud.upsert(
        repo,
        caller,
        kinds.REGISTRY,
        existing,
        rid=rid,
        name=name,
        parent_id="/",
        properties=properties,
        tags=wanted_tags,
        location="global",
    )
    return resource, existing is None


def list_registries(services: Services) -> list[Resource]:
    with services.db.read() as connection:
        return [r for r in Repository(connection).children("/", REGISTRY_TYPE)]


def get_registry(services: Services, name: str) -> Resource:
    with services.db.read() as connection:
        return require_resource(Repository(connection), registry_id(name), "registry")


# -- models and versions ---------------------------------------------------------------------
def put_model_version(
    services: Services,
    caller: Caller,
    registry: str,
    model: str,
    version: str,
    body: ModelVersionBody,
) -> Saved[Resource]:
    validate_name(ResourceKind.REGISTRY, registry)
    validate_name(ResourceKind.MODEL, model)
    validate_name(ResourceKind.MODEL_VERSION, version)
    rid = model_version_resource_id(registry, model, version)
    caller.require(f"{REGISTRIES}/models/versions/write", rid)
    props = body.properties
    artifact = check_artifact(props.artifact, services.settings.allow_private_upstreams)
    properties: dict[str, Any] = {
        "modelId": f"azureml://registries/{registry}/models/{model}/versions/{version}",
        "displayName": props.display_name or model,
        "description": props.description,
        "task": str(props.task),
        "provider": props.provider,
        "license": props.license,
        "modelCard": props.model_card,
        "artifact": artifact,
    }
    if props.context_length:
        properties["contextLength"] = props.context_length
    if props.serving is not None:
        properties["serving"] = props.serving.model_dump(by_alias=True, exclude_none=True)
    with services.db.write() as connection:
        repo = Repository(connection)
        _ensure_registry(repo, caller, registry, None)
        model_rid = model_resource_id(registry, model)
        container = repo.get(model_rid, for_update=True)
        if container is None:
            container = new_resource(
                caller,
                id=model_rid,
                type=MODEL_TYPE,
                name=model,
                parent_id=registry_id(registry),
                properties={},
            )
            repo.insert(container)
        existing = repo.get(rid, for_update=True)
        _store_api_key(services, repo, rid, existing, props.artifact.api_key, artifact)
        resource = crud.upsert(
            repo,
            caller,
            kinds.MODEL_VERSION,
            existing,
            rid=rid,
            name=version,
            parent_id=model_rid,
            properties=properties,
            tags=body.tags,
        )
        _refresh_container(repo, container, caller)
        repo.log_activity(caller.actor, f"{REGISTRIES}/models/versions/write", rid, "Succeeded")
    return Saved(resource, existing is None)


def _store_api_key(
    services: Services,
    repo: Repository,
    rid: str,
    existing: Resource | None,
    given: str | None,
    artifact: dict[str, Any],
) -> None:
    """A given apiKey replaces the stored one. A PUT without one (GET never shows it, so every
    GET-modify-PUT is one) keeps the stored key for the same upstream URL, and drops it when the
    URL changes: a key is never sent to a host it was not given for."""
    if artifact["kind"] != ArtifactKind.OPENAI_UPSTREAM:
        repo.delete_secret(rid, "apiKey")
        return
    if given is not None:
        repo.put_secret(rid, "apiKey", services.vault.encrypt(given))
        return
    if existing is None or repo.get_secret(rid, "apiKey") is None:
        return
    if existing.properties.get("artifact", {}).get("url") == artifact["url"]:
        artifact["hasApiKey"] = True
    else:
        repo.delete_secret(rid, "apiKey")


def _refresh_container(repo: Repository, container: Resource, caller: Caller) -> None:
    versions = repo.children(container.id, MODEL_VERSION_TYPE)
    if not versions:
        return
    latest = max(versions, key=lambda v: version_order(v.name))
    summary = {
        "modelId": f"azureml://registries/{container.id.split('/')[2]}/models/{container.name}",
        "latestVersion": latest.name,
        "displayName": latest.properties.get("displayName", container.name),
        "description": latest.properties.get("description", ""),
        "task": latest.properties.get("task"),
        "provider": latest.properties.get("provider", ""),
        "license": latest.properties.get("license", ""),
    }
    if container.properties != summary:
        container.properties = summary
        touch(container, caller)
        repo.save(container)


def list_models(services: Services, registry: str) -> list[Resource]:
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, registry_id(registry), "registry")
        return [m for m in repo.children(registry_id(registry), MODEL_TYPE)]


def get_model(services: Services, registry: str, model: str) -> Resource:
    with services.db.read() as connection:
        return require_resource(Repository(connection), model_resource_id(registry, model), "model")


def list_versions(services: Services, registry: str, model: str) -> list[Resource]:
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, model_resource_id(registry, model), "model")
        versions = repo.children(model_resource_id(registry, model), MODEL_VERSION_TYPE)
    return [v for v in sorted(versions, key=lambda v: version_order(v.name), reverse=True)]


def get_version(services: Services, registry: str, model: str, version: str) -> Resource:
    rid = model_version_resource_id(registry, model, version)
    with services.db.read() as connection:
        return require_resource(Repository(connection), rid, "model version")


def delete_version(services: Services, caller: Caller, registry: str, model: str, version: str) -> bool:
    rid = model_version_resource_id(registry, model, version)
    caller.require(f"{REGISTRIES}/models/versions/delete", rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        if repo.get(rid) is None:
            return False
        if repo.referenced(MODEL_VERSION_IN_USE, rid):
            raise Conflict(f"Model version '{version}' is in use by an endpoint.", code="ModelVersionInUse")
        repo.delete(rid)
        container = repo.get(model_resource_id(registry, model), for_update=True)
        if container is not None:
            if repo.has_children(container.id):
                _refresh_container(repo, container, caller)
            else:
                repo.delete(container.id)
        repo.log_activity(caller.actor, f"{REGISTRIES}/models/versions/delete", rid, "Succeeded")
    return True


def resolve(repo: Repository, model_id: str, *, target: str) -> tuple[ModelId, Resource]:
    """An unversioned model id → (its parsed id, the latest version). Versioned ids are refused."""
    parsed = ModelId.parse(model_id, target=target)
    if parsed.version is not None:
        raise BadRequest(
            f"The model id '{model_id}' includes a version. Serverless API endpoints always deploy "
            f"the latest version of a model: use '{parsed.unversioned}'.",
            code="VersionedModelIdNotAllowed",
            target=target,
        )
    versions = repo.children(parsed.resource_id, MODEL_VERSION_TYPE)
    if not versions:
        raise NotFound(
            f"The model '{parsed.unversioned}' is not in the catalog.",
            code="ModelNotFound",
            target=target,
        )
    return parsed, max(versions, key=lambda v: version_order(v.name))
