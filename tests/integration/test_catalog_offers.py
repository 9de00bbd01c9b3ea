"""The operator's catalog: model versions from Hugging Face folders, GGUF files and OpenAI-compatible
upstreams, and the offers that sell them. Everyone with a token reads it; only operators write it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import FREE_MODEL, MODEL, Api

REGISTRY = "/registries/operator"
MODEL_PATH = REGISTRY + "/models/tiny"
MODEL_ID = "azureml://registries/operator/models/tiny"
OFFERS = "/providers/Microsoft.MaaS/offers"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _version(api: Api, version: str, artifact: dict[str, Any], **properties: Any) -> httpx.Response:
    return api.put(f"{MODEL_PATH}/versions/{version}", {"properties": {"artifact": artifact, **properties}})


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-hf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    return folder


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(range(64)))
    return path


# -- model versions ---------------------------------------------------------------------------
def test_model_version_from_a_hugging_face_folder(api: Api, hf_folder: Path) -> None:
    created = _version(
        api, "1", {"kind": "huggingface", "path": str(hf_folder / ".." / "tiny-hf")}, task="chat-completion"
    )
    body = api.ok(created, 201)
    assert body["properties"]["artifact"] == {"kind": "huggingface", "path": str(hf_folder.resolve())}
    assert body["properties"]["modelId"] == MODEL_ID + "/versions/1"
    model = api.ok(api.get(MODEL_PATH), 200)
    assert model["properties"]["modelId"] == MODEL_ID
    assert model["properties"]["latestVersion"] == "1"
    assert [r["name"] for r in api.ok(api.get("/registries"), 200)["value"]] == ["operator"]


def test_model_version_from_a_gguf_file(api: Api, gguf_file: Path) -> None:
    body = api.ok(_version(api, "1", {"kind": "gguf", "path": str(gguf_file)}), 201)
    assert body["properties"]["artifact"]["kind"] == "gguf"
    assert body["properties"]["artifact"]["path"] == str(gguf_file.resolve())


def test_model_version_from_an_openai_upstream_keeps_its_key_secret(api: Api) -> None:
    secret = "sk-upstream-secret-0123456789"
    artifact = {
        "kind": "openai-upstream",
        "url": "http://127.0.0.1:8081/v1/",
        "apiKey": secret,
        "upstreamModel": "llama3",
    }
    body = api.ok(_version(api, "1", artifact), 201)
    assert body["properties"]["artifact"] == {
        "kind": "openai-upstream",
        "url": "http://127.0.0.1:8081/v1",
        "upstreamModel": "llama3",
        "hasApiKey": True,
    }
    for response in (
        api.get(f"{MODEL_PATH}/versions/1"),
        api.get(f"{MODEL_PATH}/versions"),
        api.get(MODEL_PATH),
        api.get(f"{REGISTRY}/models"),
    ):
        assert secret not in api.ok(response, 200).__repr__()

    # GET-modify-PUT (the key is never shown, so it is never sent back) keeps the key ...
    shown = api.ok(api.get(f"{MODEL_PATH}/versions/1"), 200)
    shown["properties"]["description"] = "now with a description"
    kept = api.ok(api.put(f"{MODEL_PATH}/versions/1", shown), 200)
    assert kept["properties"]["artifact"]["hasApiKey"] is True
    assert kept["properties"]["description"] == "now with a description"
    # ... but a new upstream URL without a key drops it: a key never goes to another host.
    shown["properties"]["artifact"]["url"] = "http://127.0.0.1:8082/v1"
    moved = api.ok(api.put(f"{MODEL_PATH}/versions/1", shown), 200)
    assert moved["properties"]["artifact"]["hasApiKey"] is False
    moved["properties"]["artifact"]["url"] = "http://127.0.0.1:8081/v1"
    back = api.ok(api.put(f"{MODEL_PATH}/versions/1", moved), 200)
    assert back["properties"]["artifact"]["hasApiKey"] is False


@pytest.mark.parametrize(
    ("artifact", "phrase"),
    [
        ({"kind": "huggingface", "path": "{tmp}"}, "not a Hugging Face model folder"),
        ({"kind": "huggingface", "path": "{tmp}/missing"}, "not a Hugging Face model folder"),
        ({"kind": "huggingface"}, "not a Hugging Face model folder"),
        ({"kind": "gguf", "path": "{tmp}/not.gguf"}, "not a GGUF file"),
        ({"kind": "gguf", "path": "{tmp}"}, "not a GGUF file"),
        ({"kind": "gguf", "path": "{tmp}/missing.gguf"}, "not a GGUF file"),
        ({"kind": "gguf", "path": "0" * 4000}, "not a GGUF file"),  # the OS refuses the name: no 500
        ({"kind": "huggingface", "path": "{tmp}/" + "x" * 3000}, "not a Hugging Face model folder"),
        ({"kind": "openai-upstream"}, "needs a 'url'"),
        ({"kind": "openai-upstream", "url": "ftp://127.0.0.1/v1"}, "must be an http or https URL"),
        ({"kind": "openai-upstream", "url": "not a url"}, "must be an http or https URL"),
    ],
)
def test_bad_artifacts_are_refused(api: Api, tmp_path: Path, artifact: dict[str, str], phrase: str) -> None:
    (tmp_path / "not.gguf").write_bytes(b"PK\x03\x04 not gguf")
    artifact = {k: v.replace("{tmp}", str(tmp_path)) for k, v in artifact.items()}
    response = _version(api, "1", artifact)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert phrase in error["message"]
    assert error["target"].startswith("properties.artifact")
    assert api.get(MODEL_PATH).status_code == 404
    assert api.get(REGISTRY).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/v1",
        "http://169.254.169.254:80/latest/meta-data",
        "http://[fe80::1]/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "http://2852039166/v1",
        "http://0.0.0.0:8080/v1",
    ],
)
def test_link_local_upstreams_are_refused(api: Api, url: str) -> None:
    error = _error(
        _version(api, "1", {"kind": "openai-upstream", "url": url}), 400, "UpstreamAddressNotAllowed"
    )
    assert "link-local or metadata address" in error["message"]
    assert "MAAS_ALLOW_PRIVATE_UPSTREAMS" in error["message"]
    assert api.get(MODEL_PATH).status_code == 404


def test_tags_and_descriptions_are_kept_on_catalog_resources(api: Api) -> None:
    api.ok(api.put(REGISTRY, {"properties": {"description": "ours"}, "tags": {"team": "ml"}}), 201)
    artifact = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
    api.ok(
        api.put(
            f"{MODEL_PATH}/versions/1", {"properties": {"artifact": artifact}, "tags": {"stage": "beta"}}
        ),
        201,
    )
    registry = api.ok(api.get(REGISTRY), 200)
    assert registry["tags"] == {"team": "ml"}
    assert registry["properties"]["description"] == "ours"  # adding a version does not reset it
    assert api.ok(api.get(f"{MODEL_PATH}/versions/1"), 200)["tags"] == {"stage": "beta"}


def test_versions_list_newest_first(api: Api) -> None:
    for version in ("1", "10", "2", "1.5"):
        api.add_model(MODEL_ID, version)
    listed = [v["name"] for v in api.ok(api.get(f"{MODEL_PATH}/versions"), 200)["value"]]
    assert listed == ["10", "2", "1.5", "1"]
    assert api.delete(f"{MODEL_PATH}/versions/10").status_code == 204
    assert api.ok(api.get(MODEL_PATH), 200)["properties"]["latestVersion"] == "2"
    for version in ("1", "2", "1.5"):
        assert api.delete(f"{MODEL_PATH}/versions/{version}").status_code == 204
    assert api.get(MODEL_PATH).status_code == 404  # the last version takes the model with it
    assert api.delete(f"{MODEL_PATH}/versions/1").status_code == 204


# -- offers -----------------------------------------------------------------------------------
def test_offer_shape(api: Api) -> None:
    api.add_model(MODEL_ID)
    body = {
        "properties": {
            "modelId": MODEL_ID,
            "publisherId": "operator",
            "planId": "standard",
            "kind": "Marketplace",
            "regions": ["East US 2", "westus3", "eastus2"],
            "meters": [{"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.5}],
        }
    }
    offer = api.ok(api.put(f"{OFFERS}/tiny", body), 201)
    props = offer["properties"]
    assert props["regions"] == ["eastus2", "westus3"]
    assert props["offerId"] == "tiny" and props["planId"] == "standard"
    assert props["meters"] == [
        {"meterId": "paygo-inference-input-tokens", "unit": "1K tokens", "pricePer1K": 0.5, "currency": "USD"}
    ]
    assert [o["name"] for o in api.ok(api.get(OFFERS), 200)["value"]] == ["tiny"]


def test_offer_needs_an_unversioned_catalog_model(api: Api) -> None:
    api.add_model(MODEL_ID)
    versioned = api.ok(api.offer("tiny", MODEL_ID), 201)["properties"]["modelId"]
    assert versioned == MODEL_ID
    error = _error(api.offer("tiny-v1", MODEL_ID + "/versions/1"), 400, "VersionedModelIdNotAllowed")
    assert error["target"] == "properties.modelId"
    error = _error(api.offer("ghost", "azureml://registries/operator/models/ghost"), 404, "ModelNotFound")
    assert error["target"] == "properties.modelId"
    _error(api.offer("junk", "tiny"), 400, "InvalidModelId")
    for name in ("tiny-v1", "ghost", "junk"):
        assert api.get(f"{OFFERS}/{name}").status_code == 404


def test_one_offer_per_model(api: Api) -> None:
    api.add_model(MODEL_ID)
    api.ok(api.offer("tiny", MODEL_ID), 201)
    error = _error(api.offer("tiny-again", MODEL_ID), 409, "OfferExistsForModel")
    assert "already has an offer" in error["message"]
    assert api.get(f"{OFFERS}/tiny-again").status_code == 404
    # The offer's own PUT is an update, and its model cannot change.
    api.ok(api.offer("tiny", MODEL_ID, price=0.25), 200)
    other = "azureml://registries/operator/models/other"
    api.add_model(other)
    _error(api.offer("tiny", other), 409, "PropertyImmutable")
    api.ok(api.offer("other", other), 201)  # the failed change claimed nothing


def test_an_offer_in_use_cannot_be_deleted(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    llama = f"{OFFERS}/meta-llama-3-8b-instruct"
    error = _error(api.delete(llama), 409, "OfferInUse")
    assert "remove them first" in error["message"]
    created = api.create_endpoint(world, "llama")
    api.wait_operation(created)
    assert api.delete(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 204
    _error(api.delete(llama), 409, "OfferInUse")  # the endpoint still uses it
    api.wait_operation(api.delete(world.endpoint("llama")))
    assert api.delete(llama).status_code == 204
    assert api.get(llama).status_code == 404
    assert api.delete(llama).status_code == 204

    # Without an offer the model is no longer deployable; a new offer makes it so again.
    _error(api.create_endpoint(world, "llama"), 400, "ModelNotOfferedServerless")
    api.ok(api.offer("llama-again", MODEL, kind="Marketplace", price=0.001), 201)
    api.ok(api.subscribe(world), 201)
    assert api.create_endpoint(world, "llama").status_code == 201


def test_first_party_endpoint_keeps_its_offer(api: Api) -> None:
    world = api.world()
    api.create_endpoint(world, "phi", FREE_MODEL)
    _error(api.delete(f"{OFFERS}/phi-3-mini"), 409, "OfferInUse")


# -- who may write ----------------------------------------------------------------------------
def test_everyone_reads_the_catalog_but_only_operators_write_it(api: Api, hf_folder: Path) -> None:
    world = api.world()
    principal_id, token = api.principal("carol")
    api.ok(api.assign(world.rg_path, principal_id, CONTRIBUTOR), 201)
    user = api.as_token(token)
    for path in (
        "/registries",
        "/registries/azureml-meta",
        "/registries/azureml-meta/models",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1",
        OFFERS,
        f"{OFFERS}/phi-3-mini",
    ):
        assert user.get(path).status_code == 200, path

    artifact = {"kind": "huggingface", "path": str(hf_folder)}
    for response, action, scope in (
        (
            user.put(f"{MODEL_PATH}/versions/1", {"properties": {"artifact": artifact}}),
            "Microsoft.MachineLearningServices/registries/models/versions/write",
            f"{MODEL_PATH}/versions/1",
        ),
        (
            user.delete("/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1"),
            "Microsoft.MachineLearningServices/registries/models/versions/delete",
            "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1",
        ),
        (user.put(REGISTRY, {}), "Microsoft.MachineLearningServices/registries/write", REGISTRY),
        (
            user.offer("phi-3-mini", FREE_MODEL, price=1.0),
            "Microsoft.MaaS/offers/write",
            f"{OFFERS}/phi-3-mini",
        ),
        (user.delete(f"{OFFERS}/phi-3-mini"), "Microsoft.MaaS/offers/delete", f"{OFFERS}/phi-3-mini"),
    ):
        error = _error(response, 403, "AuthorizationFailed")
        assert f"perform action '{action}' over scope '{scope}'" in error["message"]
    assert api.get(MODEL_PATH).status_code == 404
    assert api.ok(api.get(f"{OFFERS}/phi-3-mini"), 200)["properties"]["meters"] == []
    assert api.get("/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1").status_code == 200


def test_reading_the_catalog_still_needs_a_token(api: Api) -> None:
    api.world()
    for path in ("/registries", OFFERS, f"{OFFERS}/phi-3-mini"):
        assert api.client.get(path).status_code == 401
