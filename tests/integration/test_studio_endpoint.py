"""Studio's endpoint page and Playground (issue 14 items 5 and 6), server-side, on SQLite and
PostgreSQL: the page as an Owner, a Reader and a scorer (a custom role with only the data action)
see it; Show (listKeys as the person), Regenerate and Delete with their confirm steps; the Consume
snippets; the live quota fragment; the last 24 hours' usage; the playground's relay through the
gateway (streamed and not, metered, quota-checked, errors in words) and the embeddings table.

The endpoints are served by the fake OpenAI-compatible upstream (`support.fake_upstream`): it
answers "Hello from the fake upstream." with usage 7 prompt + 6 completion tokens.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maas.controlplane.domain.authz import SCORE_DATA_ACTION
from support.api import Api, World
from support.fake_upstream import WORDS, FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    put_model,
    upstream_artifact,
)
from support.studio import csrf_of, parse, sign_in

ADMIN_PASSWORD = "test-admin-token-0123456789"  # tests/conftest.py's ADMIN_TOKEN: admin's password
USERS = "/providers/Microsoft.MaaS/users"
RD = "/providers/Microsoft.Authorization/roleDefinitions"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PASSWORD = "correct horse battery"
PRICES = [
    {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003, "currency": "USD"},
    {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006, "currency": "USD"},
]
ANSWER = "".join(WORDS)
# 7 prompt tokens at $0.0003 per 1K + 6 completion tokens at $0.0006 per 1K
TURN_NOTE = "7 input + 6 output tokens · $0.0000057"
PAGE = "/studio/endpoints/chat"
STREAM = {"X-Playground-Stream": "1"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def world(api: Api, upstream: FakeUpstream) -> World:
    world = api.world(catalog=False)
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url), context_length=64)
    properties = {"modelId": UPSTREAM_MODEL, "publisherId": "test", "kind": "FirstParty", "meters": PRICES}
    api.ok(api.put("/providers/Microsoft.MaaS/offers/fake-upstream-chat", {"properties": properties}))
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
    return world


@pytest.fixture
def chat(api: Api, world: World) -> Deployed:
    return deploy(api, world, "chat", UPSTREAM_MODEL)


@pytest.fixture
def embed(api: Api, world: World) -> Deployed:
    return deploy(api, world, "embed", UPSTREAM_EMBED_MODEL)


def studio_as(client: TestClient, world: World, user: str, password: str) -> None:
    """Sign in to Studio as `user` (a fresh cookie jar) and choose the world's workspace."""
    client.cookies.clear()
    landed = sign_in(client, user, password)
    chosen = client.post(
        "/studio/workspace",
        data={
            "sub": world.sub,
            "rg": world.rg,
            "name": world.ws,
            "next": "/studio",
            "csrf_token": csrf_of(landed.text),
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303, chosen.text


def user(api: Api, upn: str, scope: str, role: str) -> str:
    body = {"properties": {"displayName": upn.split("@")[0], "passwordProfile": {"password": PASSWORD}}}
    object_id = str(api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"])
    api.ok(api.assign(scope, object_id, role), 201)
    return object_id


def scorer_role(api: Api, world: World) -> str:
    """A custom role that reads the workspace and its endpoints and holds only the data action."""
    guid = str(uuid.uuid4())
    permissions = {
        "actions": [
            "Microsoft.MachineLearningServices/workspaces/read",
            "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read",
        ],
        "notActions": [],
        "dataActions": [SCORE_DATA_ACTION],
        "notDataActions": [],
    }
    body = {
        "properties": {
            "roleName": "Endpoint scorer",
            "description": "reads endpoints and calls them keylessly",
            "permissions": [permissions],
            "assignableScopes": [world.sub_path],
        }
    }
    api.ok(api.put(f"{world.sub_path}{RD}/{guid}", body), 201)
    return guid


def page_of(client: TestClient, url: str = PAGE) -> tuple[httpx.Response, str]:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 200, response.text
    return response, csrf_of(response.text)


def post(
    client: TestClient, url: str, csrf: str, data: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return client.post(
        url, data={"csrf_token": csrf, **(data or {})}, headers=headers, follow_redirects=False
    )


def events(raw: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for frame in raw.strip().split("\n\n"):
        name = re.search(r"^event: (.+)$", frame, re.M)
        data = re.search(r"^data: (.+)$", frame, re.M)
        assert name and data, frame
        out.append((name.group(1), json.loads(data.group(1))))
    return out


def chat_form(message: str, **extra: Any) -> dict[str, Any]:
    return {"system": "Be brief.", "temperature": "0.2", "max_tokens": "16", "message": message, **extra}


def usage_tokens(api: Api, world: World, name: str) -> int:
    """Tokens of the endpoint this month, from the Cost Management query (the hourly totals)."""
    body = {
        "type": "Usage",
        "timeframe": "MonthToDate",
        "dataset": {"aggregation": {"q": {"name": "UsageQuantity", "function": "Sum"}}},
    }
    path = f"{world.endpoint(name)}/providers/Microsoft.CostManagement/query"
    rows = api.ok(api.post(path, body, params={"api-version": "2023-11-01"}), 200)["properties"]["rows"]
    return int(sum(row[0] for row in rows))


def wait_for_usage(api: Api, world: World, name: str, at_least: int) -> int:
    deadline = time.monotonic() + 20
    while (found := usage_tokens(api, world, name)) < at_least:
        assert time.monotonic() < deadline, f"usage of {name} stayed at {found} tokens"
        time.sleep(0.05)
    return found


# -- the page ---------------------------------------------------------------------------------------
def test_the_details_tab_as_an_owner(api: Api, client: TestClient, world: World, chat: Deployed) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    response, _ = page_of(client)
    page = parse(response.text)
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.inline_styles == 0 and page.style_tags == 0
    assert all("src" in script for script in page.scripts)  # no inline script
    for text in ("chat", UPSTREAM_MODEL, "Succeeded", "Created", "Target URI", chat.uri, "Key"):
        assert text in page.text, text
    # the keys are not in the page until asked for, and the controls are all usable
    assert chat.key not in response.text and chat.secondary_key not in response.text
    assert not page.disabled and not page.reasons
    assert f'action="{PAGE}/keys"' in response.text and f'action="{PAGE}/delete"' in response.text
    assert "Regenerate primary key" in page.text and "Regenerate secondary key" in page.text
    # live quota and the last 24 hours' usage (nothing used yet: 24 rows of zeros)
    assert "Tokens left this minute" in page.text and "Requests left this minute" in page.text
    assert "200,000 of 200,000 per minute" in page.text and "1,000 of 1,000 per minute" in page.text
    assert "0 tokens, costing $0.00." in page.text
    assert len(re.findall(r"<tr><th scope=\"row\">\d\d:00</th>", response.text)) == 24
    assert 'data-usage="{' in response.text
    # tabs are links (no JavaScript needed)
    assert (
        page.links["Consume"] == f"{PAGE}?tab=consume"
        and page.links["Playground"] == f"{PAGE}?tab=playground"
    )


def test_an_unknown_or_bad_endpoint_name_is_a_page_in_words(
    client: TestClient, world: World, chat: Deployed
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    missing = client.get("/studio/endpoints/nope")
    assert missing.status_code == 404 and "was not found" in missing.text
    bad = client.get("/studio/endpoints/-bad-")
    assert bad.status_code == 400 and "is invalid" in bad.text
    for url in (
        "/studio/endpoints/-bad-/keys",
        "/studio/endpoints/nope/delete",
        "/studio/endpoints/nope/playground",
    ):
        _, csrf = page_of(client)
        answer = post(client, url, csrf, {"key_type": "primary", **chat_form("hi")})
        assert answer.status_code in (400, 404), (url, answer.status_code)
        assert "text/html" in answer.headers["content-type"]


def test_show_keys_is_list_keys_as_the_person(client: TestClient, world: World, chat: Deployed) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client)
    fragment = post(client, f"{PAGE}/keys", csrf, **HTMX)
    assert fragment.status_code == 200
    assert chat.key in fragment.text and chat.secondary_key in fragment.text
    assert "<html" not in fragment.text and 'id="keys"' in fragment.text
    assert 'data-copy="primary-key"' in fragment.text and 'data-reveal="primary-key"' in fragment.text
    whole = post(client, f"{PAGE}/keys", csrf)  # without JavaScript: the page with the keys shown
    assert whole.status_code == 200 and chat.key in whole.text and "<html" in whole.text
    assert 'data-copy="target-uri"' in whole.text
    # a state-changing post without the session's token is refused
    assert client.post(f"{PAGE}/keys", follow_redirects=False).status_code == 403


def test_a_reader_sees_disabled_controls_with_reasons(
    api: Api, client: TestClient, world: World, chat: Deployed
) -> None:
    user(api, "rita@contoso.example", world.ws_path, READER)
    studio_as(client, world, "rita@contoso.example", PASSWORD)
    response, csrf = page_of(client)
    page = parse(response.text)
    assert chat.uri in page.text and chat.key not in response.text
    assert set(page.disabled) >= {"Show", "Regenerate primary key", "Regenerate secondary key", "Delete"}
    reasons = " ".join(page.reasons)
    assert "serverlessEndpoints/listKeys/action" in reasons
    assert "serverlessEndpoints/regenerateKeys/action" in reasons
    assert "serverlessEndpoints/delete" in reasons
    assert "Tokens left this minute" in page.text and "Hour (UTC)" in page.text  # Reader reads both
    playground = parse(client.get(f"{PAGE}?tab=playground").text)
    assert "Send" in playground.disabled
    assert any(SCORE_DATA_ACTION in reason and "listKeys" in reason for reason in playground.reasons)
    # posting anyway: refusals in words, never a raw 403 and never a key
    shown = post(client, f"{PAGE}/keys", csrf)
    assert shown.status_code == 403 and chat.key not in shown.text
    assert "You don't have permission to do this: you need" in " ".join(parse(shown.text).alerts)
    regenerated = post(client, f"{PAGE}/regenerate", csrf, {"key_type": "primary", "confirmed": "yes"})
    assert regenerated.status_code == 403 and "regenerateKeys/action" in " ".join(
        parse(regenerated.text).alerts
    )
    deleted = post(client, f"{PAGE}/delete", csrf, {"confirmed": "yes"})
    assert deleted.status_code == 403 and "serverlessEndpoints/delete" in " ".join(parse(deleted.text).alerts)
    sent = post(client, f"{PAGE}/playground", csrf, chat_form("hi"), **STREAM)
    assert [name for name, _ in events(sent.text)] == ["error"]
    assert SCORE_DATA_ACTION in events(sent.text)[0][1]["message"]
    assert api.ok(api.get(world.endpoint("chat")), 200)["properties"]["provisioningState"] == "Succeeded"
    assert (
        client.post(
            chat.route + "/chat/completions",
            json={"messages": [{"role": "user", "content": "x"}]},
            headers=chat.headers(),
        ).status_code
        == 200
    )  # the key was not regenerated


def test_regenerate_asks_first_then_changes_the_key(client: TestClient, world: World, chat: Deployed) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client)
    asked = post(client, f"{PAGE}/regenerate", csrf, {"key_type": "primary"})
    assert asked.status_code == 200 and "Regenerate the primary key of chat?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text and chat.key not in asked.text
    assert parse(asked.text).links["Cancel"] == PAGE
    done = post(client, f"{PAGE}/regenerate", csrf, {"key_type": "primary", "confirmed": "yes"})
    assert done.status_code == 200 and "The primary key was regenerated" in done.text
    new = re.search(r'id="primary-key"[^>]*value="([^"]+)"', done.text)
    assert new is not None and new.group(1) != chat.key
    assert chat.secondary_key in done.text  # the other key is unchanged
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert client.post(chat.route + "/chat/completions", json=body, headers=chat.headers()).status_code == 401
    fresh = client.post(chat.route + "/chat/completions", json=body, headers={"api-key": new.group(1)})
    assert fresh.status_code == 200
    wrong = post(client, f"{PAGE}/regenerate", csrf, {"key_type": "tertiary", "confirmed": "yes"})
    assert wrong.status_code == 400 and "primary or the secondary" in " ".join(parse(wrong.text).alerts)


def test_delete_asks_first_then_goes_back_to_the_list(
    api: Api, client: TestClient, world: World, chat: Deployed
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client)
    asked = post(client, f"{PAGE}/delete", csrf)
    assert asked.status_code == 200 and "Delete the endpoint chat?" in asked.text
    assert api.ok(api.get(world.endpoint("chat")), 200)["properties"]["provisioningState"] == "Succeeded"
    done = post(client, f"{PAGE}/delete", csrf, {"confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/studio/endpoints"
    deadline = time.monotonic() + 20
    while api.get(world.endpoint("chat")).status_code != 404:
        assert time.monotonic() < deadline, "the endpoint was not removed"
        time.sleep(0.05)
    assert client.get(PAGE).status_code == 404


# -- consume ----------------------------------------------------------------------------------------
def test_the_consume_tab_has_snippets_with_the_target_uri(
    client: TestClient, world: World, chat: Deployed, embed: Deployed
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    response, _ = page_of(client, f"{PAGE}?tab=consume")
    page = parse(response.text)
    for title in ("Python: openai", "Python: azure-ai-inference", "curl", "Python: LangChain"):
        assert title in page.text, title
    blocks = re.findall(
        r'<pre class="snippet" id="snippet-([a-z-]+)"[^>]*><code>(.*?)</code></pre>', response.text, re.S
    )
    assert [name for name, _ in blocks] == ["openai", "azure-ai-inference", "curl", "langchain"]
    for name, code in blocks:
        assert chat.uri in code, name
        assert "AZURE_INFERENCE_CREDENTIAL" in code, name
    assert chat.key not in response.text and chat.secondary_key not in response.text
    assert f"{chat.uri}/chat/completions" in dict(blocks)["curl"]
    openai_code = dict(blocks)["openai"].replace("&#34;", '"').replace("&quot;", '"')
    compile(openai_code, "openai-snippet", "exec")  # valid Python
    embeddings = page_of(client, "/studio/endpoints/embed?tab=consume")[0].text
    assert f"{embed.uri}/embeddings" in embeddings and "embeddings.create" in embeddings


# -- live quota -------------------------------------------------------------------------------------
def test_the_quota_fragment_shows_what_is_left_this_minute(
    api: Api, client: TestClient, world: World, chat: Deployed
) -> None:
    quota = f"{world.endpoint('chat')}/providers/Microsoft.MaaS/quotas/default"
    api.ok(api.put(quota, {"properties": {"tokensPerMinute": 5000, "requestsPerMinute": 10}}), 200)
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    before = client.get(f"{PAGE}/quota")
    assert before.status_code == 200 and "<html" not in before.text
    assert 'hx-get="/studio/endpoints/chat/quota"' in before.text and 'hx-trigger="every 5s"' in before.text
    assert re.search(r'data-quota="tokens">5,000</strong> of 5,000 per minute', before.text), before.text
    assert re.search(r'data-quota="requests">10</strong> of 10 per minute', before.text)
    assert "An operator set these limits" in before.text
    answer = client.post(
        chat.route + "/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=chat.headers(),
    )
    assert answer.status_code == 200
    after = client.get(f"{PAGE}/quota").text
    assert re.search(r'data-quota="requests">9</strong> of 10', after), after
    tokens = int(re.search(r'data-quota="tokens">([\d,]+)</strong>', after).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert tokens == 5000 - 13  # the answer's 7 + 6 tokens, once settled


# -- playground -------------------------------------------------------------------------------------
def test_the_playground_streams_an_answer_that_is_metered(
    api: Api, client: TestClient, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    response, csrf = page_of(client, f"{PAGE}?tab=playground")
    page = parse(response.text)
    for label in ("System message", "Temperature", "Max tokens", "Message"):
        assert f">{label}</label>" in response.text, label
    assert "Send" not in page.disabled and "Enter sends; Shift+Enter starts a new line." in page.text
    assert 'max="64"' in response.text  # max tokens up to the model's context window
    sent = post(client, f"{PAGE}/playground", csrf, chat_form("Say hello"), **STREAM)
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("text/event-stream")
    found = events(sent.text)
    assert [name for name, _ in found] == ["delta"] * len(WORDS) + ["done"]
    assert "".join(data["text"] for name, data in found if name == "delta") == ANSWER
    assert found[-1][1]["note"] == TURN_NOTE
    relayed = upstream.requests[-1]["body"]
    assert relayed["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    assert relayed["temperature"] == 0.2 and relayed["max_tokens"] == 16 and relayed["stream"] is True
    # metered like any call: the usage is recorded against the endpoint, and the quota used
    assert wait_for_usage(api, world, "chat", 13) == 13
    quota = client.get(f"{PAGE}/quota").text
    assert re.search(r'data-quota="requests">999</strong>', quota), quota
    # and it shows on the Details tab: this hour's row and the chart's data
    details = page_of(client)[0].text
    assert "13 tokens, costing $0.0000057." in details
    chart = json.loads(re.search(r'data-usage="([^"]+)"', details).group(1).replace("&#34;", '"'))  # type: ignore[union-attr]
    assert sum(chart["input"]) == 7 and sum(chart["output"]) == 6 and len(chart["x"]) == 24


def test_the_playground_without_javascript_keeps_the_conversation(
    client: TestClient, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client, f"{PAGE}?tab=playground")
    first = post(client, f"{PAGE}/playground", csrf, chat_form("Hi there"))
    assert first.status_code == 200
    page = parse(first.text)
    assert "Hi there" in page.text and ANSWER in page.text and TURN_NOTE in page.text
    roles = re.findall(r'name="turn_role" value="(\w+)"', first.text)
    contents = re.findall(r'name="turn_content" value="([^"]*)"', first.text)
    assert roles == ["user", "assistant"] and contents == ["Hi there", ANSWER]
    second = client.post(
        f"{PAGE}/playground",
        data={"csrf_token": csrf, **chat_form("And again"), "turn_role": roles, "turn_content": contents},
    )
    assert second.status_code == 200
    assert upstream.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "And again"},
    ]
    assert upstream.requests[-1]["body"]["stream"] is False
    assert len(re.findall(r'name="turn_role"', second.text)) == 4


def test_playground_input_is_checked_in_words(
    client: TestClient, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client, f"{PAGE}?tab=playground")
    sent = len(upstream.requests)
    cases = [
        (chat_form(""), "Type a message"),
        (chat_form("hi", temperature="hot"), "Temperature must be a number from 0 to 2"),
        (chat_form("hi", temperature="nan"), "Temperature must be a number from 0 to 2"),
        (chat_form("hi", temperature="3"), "Temperature must be a number from 0 to 2"),
        (chat_form("hi", max_tokens="0"), "Max tokens must be a whole number from 1 to 64"),
        (chat_form("hi", max_tokens="65"), "Max tokens must be a whole number from 1 to 64"),
        (chat_form("hi", turn_role=["user", "robot"], turn_content=["a", "b"]), "malformed"),
        (chat_form("hi", turn_role=["user"], turn_content=[]), "malformed"),
        (chat_form("x" * 40_000), "longer than 32,000 characters"),
    ]
    for form, words in cases:
        streamed = post(client, f"{PAGE}/playground", csrf, form, **STREAM)
        assert streamed.status_code == 400, words
        assert words in events(streamed.text)[0][1]["message"]
        whole = post(client, f"{PAGE}/playground", csrf, form)
        assert whole.status_code == 400 and words in " ".join(parse(whole.text).alerts), words
    assert len(upstream.requests) == sent  # nothing reached the model


def test_playground_errors_from_the_endpoint_in_words(
    api: Api, client: TestClient, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    _, csrf = page_of(client, f"{PAGE}?tab=playground")
    # context too long: max_tokens of the whole 64-token window
    too_long = events(
        post(client, f"{PAGE}/playground", csrf, chat_form("hi", max_tokens="64"), **STREAM).text
    )
    assert too_long[0][0] == "error"
    assert too_long[0][1]["message"].startswith("Too long for this model's context window (400)")
    # the model failing
    failed = events(post(client, f"{PAGE}/playground", csrf, chat_form("FAIL500"), **STREAM).text)
    assert failed[0][0] == "error" and failed[0][1]["message"].startswith("The endpoint failed (502")
    # quota: one request a minute, the second is refused with the gateway's words
    quota = f"{world.endpoint('chat')}/providers/Microsoft.MaaS/quotas/default"
    api.ok(api.put(quota, {"properties": {"requestsPerMinute": 1}}), 200)
    assert events(post(client, f"{PAGE}/playground", csrf, chat_form("one"), **STREAM).text)[-1][0] == "done"
    refused = events(post(client, f"{PAGE}/playground", csrf, chat_form("two"), **STREAM).text)
    assert refused[0][0] == "error" and refused[0][1]["message"].startswith(
        "Quota exceeded (429): Rate limit reached"
    )
    whole = post(client, f"{PAGE}/playground", csrf, chat_form("three"))
    assert whole.status_code == 429 and "Quota exceeded (429)" in " ".join(parse(whole.text).alerts)


def test_a_scorer_calls_keylessly_without_seeing_keys(
    api: Api, client: TestClient, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    user(api, "sam@contoso.example", world.ws_path, scorer_role(api, world))
    studio_as(client, world, "sam@contoso.example", PASSWORD)
    details, csrf = page_of(client)
    page = parse(details.text)
    assert "Show" in page.disabled and chat.key not in details.text
    assert "Microsoft.CostManagement/query/read" in page.text  # no usage for this role, said why
    playground = parse(client.get(f"{PAGE}?tab=playground").text)
    assert "Send" not in playground.disabled
    found = events(post(client, f"{PAGE}/playground", csrf, chat_form("keyless"), **STREAM).text)
    assert found[-1] == ("done", {"note": TURN_NOTE})
    # the token is the person's (https://ml.azure.com), used at the gateway, never sent upstream
    assert "Bearer ey" not in str(upstream.requests[-1]["headers"])
    assert wait_for_usage(api, world, "chat", 13) == 13


def test_the_embeddings_playground_gives_a_similarity_table(
    client: TestClient, world: World, embed: Deployed, upstream: FakeUpstream
) -> None:
    studio_as(client, world, "admin", ADMIN_PASSWORD)
    response, csrf = page_of(client, "/studio/endpoints/embed?tab=playground")
    assert ">Texts (one per line)</label>" in response.text and "System message" not in response.text
    fragment = post(
        client, "/studio/endpoints/embed/playground/embeddings", csrf, {"texts": "a cat\n\na dog\n"}, **HTMX
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    text = parse(fragment.text).text
    assert "2 vectors of 3 dimensions" in text and "2 input tokens · free" in text
    assert fragment.text.count(">1.000</td>") == 4  # the fake upstream's vectors are all alike
    assert upstream.requests[-1]["body"]["input"] == ["a cat", "a dog"]
    whole = post(client, "/studio/endpoints/embed/playground/embeddings", csrf, {"texts": "a cat\na dog"})
    assert whole.status_code == 200 and "<html" in whole.text and "Cosine similarity" in whole.text
    empty = post(client, "/studio/endpoints/embed/playground/embeddings", csrf, {"texts": "  \n"}, **HTMX)
    assert "Type at least one text" in " ".join(parse(empty.text).alerts)
    many = post(client, "/studio/endpoints/embed/playground/embeddings", csrf, {"texts": "x\n" * 17})
    assert many.status_code == 400 and "At most 16 texts" in " ".join(parse(many.text).alerts)
    # the chat form of an embeddings endpoint says what to use instead
    wrong = events(post(client, "/studio/endpoints/embed/playground", csrf, chat_form("hi"), **STREAM).text)
    assert "serves embeddings" in wrong[0][1]["message"]


def test_cosine_similarity() -> None:
    from maas.web.playground import cosine

    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert cosine([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(-1.0)
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
