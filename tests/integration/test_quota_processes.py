"""Per-deployment quotas on real `maas serve` processes (DESIGN §6: exact in one process, exact
across instances with Redis).

Two set-ups, each a module-scoped fixture:

- `memory`: one process, the default `memory://` store, SQLite;
- `redis`: two gateway processes sharing one PostgreSQL database (a fresh schema of the `test`
  database, like tests/conftest.py) and one Redis (`MAAS_QUOTA_STORE=redis://…`); requests are
  split across both processes. Redis keys are unique per run: every run deploys its endpoints in a
  fresh Azure subscription, and the quota key is the endpoint's id; they are deleted at the end.

Both run with a low limit (`MAAS_QUOTA_REQUESTS_PER_MINUTE=30`, `MAAS_QUOTA_TOKENS_PER_MINUTE=400`).
Offered twice the request limit at once, exactly the limit is admitted, and every answer (200 or
429) carries the `x-ratelimit-*` headers; a 429 also has `Retry-After`. Sent one by one, chat
requests with `max_tokens` are admitted while the window's tokens plus the request's reservation fit
the token limit, and refused with 429 from the first one whose reservation would exceed it.

Without a reachable Redis or PostgreSQL the `redis` cases are skipped on a developer's machine and
fail under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from maas.core.ids import key_of
from maas.gateway.metering import MESSAGE_TOKENS, TEMPLATE_TOKENS
from support.api import Api, World
from support.gateway import Deployed, deploy, wait_for
from support.server import RunningServer, running_server

REDIS_URL = os.environ.get("MAAS_TEST_REDIS", "redis://127.0.0.1:6379/0")
PG_ADMIN_URL = os.environ.get("MAAS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CHAT = "azureml://registries/maas/models/maas-tiny-chat"
EMBED = "azureml://registries/maas/models/wordllama-embed"
TOKEN = "quota-processes-admin-token-0123456789"
SECRET = "quota-processes-secret-0123456789-0123456789"
RPM = 30
TPM = 400
MAX_TOKENS = 64
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
DURATION = re.compile(r"^(0s|\d+ms|(\d+m)?\d+(\.\d+)?s)$")  # OpenAI's reset form: 0s, 12ms, 1.5s, 1m0s


def _unavailable(what: str, exc: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true: {exc}")
    pytest.skip(f"{what} not reachable: {exc}")


@dataclass
class Cluster:
    """The gateway processes of one set-up, the admin API on the first, and its database."""

    servers: list[RunningServer]
    api: Api
    world: World
    spare: World  # a second workspace of the same subscription, for the warm-up endpoints
    database_url: str
    redis_url: str | None

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]


def _settings(store: str, database_url: str) -> dict[str, str]:
    return {
        "MAAS_QUOTA_STORE": store,
        "MAAS_QUOTA_REQUESTS_PER_MINUTE": str(RPM),
        "MAAS_QUOTA_TOKENS_PER_MINUTE": str(TPM),
        "MAAS_DATABASE_URL": database_url,
        "MAAS_SECRET": SECRET,  # processes sharing a database share the secret
    }


@contextlib.contextmanager
def _pg_schema() -> Iterator[str]:
    try:
        import psycopg

        connection = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except Exception as exc:  # pragma: no cover - depends on the machine
        _unavailable("PostgreSQL", exc)
    schema = f"maas_quota_{uuid.uuid4().hex[:12]}"
    connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()


def _check_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _unavailable("Redis", exc)
    finally:
        client.close()


def _delete_quota_keys(redis_url: str, world: World) -> None:
    """Delete this run's quota keys: each key's hash tag is an endpoint id, which holds the run's
    fresh subscription id."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"maas:q:{{{world.sub_path.lower()}/*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="module", params=["memory", pytest.param("redis", marks=pytest.mark.postgres)])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp(f"quota-{request.param}")
    if request.param == "memory":
        database_url = f"sqlite:///{root / 'maas.db'}"
        with running_server(
            root / "data", token=TOKEN, extra_env=_settings("memory://", database_url)
        ) as one:
            yield from _cluster([one], database_url, None)
        return
    _check_redis()
    with _pg_schema() as database_url:
        env = _settings(REDIS_URL, database_url)
        # started one after the other: the first migrates and installs the shipped models
        with (
            running_server(root / "a" / "data", token=TOKEN, extra_env=env) as first,
            running_server(root / "b" / "data", token=TOKEN, extra_env=env) as second,
        ):
            yield from _cluster([first, second], database_url, REDIS_URL)


def _cluster(servers: list[RunningServer], database_url: str, redis_url: str | None) -> Iterator[Cluster]:
    with httpx.Client(base_url=servers[0].url, timeout=60) as http:
        api = Api(http, TOKEN)  # type: ignore[arg-type]
        world = api.world(World(sub=str(uuid.uuid4())), catalog=False)  # a fresh quota key per run
        spare = World(sub=world.sub, ws="warm-up")  # one endpoint per model per workspace
        api.ok(api.put(spare.ws_path, {"location": spare.location}))
        for workspace in (world, spare):
            api.ok(api.subscribe(workspace, "maas-tiny-chat", CHAT), 201)
        try:
            yield Cluster(servers, api, world, spare, database_url, redis_url)
        finally:
            if redis_url is not None:
                _delete_quota_keys(redis_url, world)


# -- helpers ---------------------------------------------------------------------------------------
def warm(cluster: Cluster, name: str, model: str, route: str, body: dict[str, object]) -> None:
    """Start the model's replicas in every process (pools are per model, not per endpoint), on an
    endpoint of their own so that the measured endpoint's quota is untouched."""
    endpoint = deploy(cluster.api, cluster.spare, name, model)
    for url in cluster.urls:
        response = httpx.post(url + endpoint.route + route, json=body, headers=endpoint.headers(), timeout=60)
        assert response.status_code == 200, response.text


def assert_rate_headers(response: httpx.Response) -> None:
    headers = response.headers
    missing = [name for name in RATE_HEADERS if name not in headers]
    assert not missing, (response.status_code, missing, dict(headers))
    assert headers["x-ratelimit-limit-requests"] == str(RPM)
    assert headers["x-ratelimit-limit-tokens"] == str(TPM)
    assert 0 <= int(headers["x-ratelimit-remaining-requests"]) <= RPM
    assert 0 <= int(headers["x-ratelimit-remaining-tokens"]) <= TPM
    assert DURATION.match(headers["x-ratelimit-reset-requests"]), headers["x-ratelimit-reset-requests"]
    assert DURATION.match(headers["x-ratelimit-reset-tokens"]), headers["x-ratelimit-reset-tokens"]


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert 0 < int(response.headers["retry-after-ms"]) <= 60_000
    assert_rate_headers(response)


async def _burst(
    urls: list[str],
    endpoint: Deployed,
    count: int,
    route: str = "/embeddings",
    body: dict[str, Any] | None = None,
) -> list[tuple[str, httpx.Response]]:
    clients = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=count))
        for url in urls
    ]
    try:

        async def one(i: int) -> tuple[str, httpx.Response]:
            client = clients[i % len(clients)]
            response = await client.post(
                endpoint.route + route, json=body or {"input": f"burst {i}"}, headers=endpoint.headers()
            )
            return str(client.base_url), response

        return await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        for client in clients:
            await client.aclose()


def usage_records(database_url: str, endpoint_id: str) -> int:
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT COUNT(*) FROM usage_records WHERE endpoint_key = :key")
            return int(connection.execute(query, {"key": key_of(endpoint_id)}).scalar_one())
    finally:
        engine.dispose()


def wait_settled(url: str, endpoint: Deployed, remaining: int) -> None:
    """Until GET /info (which uses no quota) reports `remaining` tokens: a settlement is awaited
    after the answer was sent, and on Redis it may land just after the client has the answer."""

    def seen() -> bool:
        peek = httpx.get(url + endpoint.route + "/info", headers=endpoint.headers(), timeout=10)
        assert peek.status_code == 200, peek.text
        return peek.headers.get("x-ratelimit-remaining-tokens") == str(remaining)

    wait_for(seen, f"the window settling to {remaining} remaining tokens", 10)


def endpoint_id(cluster: Cluster, name: str) -> str:
    return str(cluster.api.ok(cluster.api.get(cluster.world.endpoint(name)), 200)["id"])


# -- the tests -------------------------------------------------------------------------------------
def test_twice_the_request_limit_at_once_admits_exactly_the_limit(cluster: Cluster) -> None:
    warm(cluster, "warm-embed", EMBED, "/embeddings", {"input": "warm"})
    endpoint = deploy(cluster.api, cluster.world, "burst", EMBED)
    answers = asyncio.run(_burst(cluster.urls, endpoint, 2 * RPM))

    statuses = Counter(response.status_code for _, response in answers)
    by_process = Counter((url, response.status_code) for url, response in answers)
    assert statuses == {200: RPM, 429: RPM}, by_process
    print(f"\nper process (url, status): {dict(sorted(by_process.items()))}")
    for _, response in answers:
        if response.status_code == 429:
            assert_refused(response)
            assert response.headers["x-ratelimit-remaining-requests"] == "0"
        else:
            assert_rate_headers(response)
    # admission is one atomic step: the admitted requests saw every remaining count exactly once
    remaining = sorted(
        int(r.headers["x-ratelimit-remaining-requests"]) for _, r in answers if r.status_code == 200
    )
    assert remaining == list(range(RPM))
    # and a refused request is not billed: exactly the admitted ones reach the ledger
    key = endpoint_id(cluster, "burst")
    wait_for(lambda: usage_records(cluster.database_url, key) >= RPM, "the usage records", 20)
    assert usage_records(cluster.database_url, key) == RPM


def test_the_token_limit_refuses_once_the_reservation_would_exceed_it(cluster: Cluster) -> None:
    ask = {"messages": [{"role": "user", "content": "Tell me about models."}], "max_tokens": MAX_TOKENS}
    warm(cluster, "warm-chat", CHAT, "/chat/completions", ask)
    endpoint = deploy(cluster.api, cluster.world, "tokens", CHAT)
    urls = cluster.urls

    raw = orjson.dumps(ask)
    used = 0  # tokens of the answers so far: what the window holds once each is settled
    reservation: int | None = None
    admitted = 0
    for i in range(RPM):
        url = urls[i % len(urls)]  # alternate between the processes: one shared window
        response = httpx.post(
            url + endpoint.route + "/chat/completions",
            content=raw,
            headers=endpoint.headers(**{"content-type": "application/json"}),
            timeout=60,
        )
        if response.status_code != 200:
            break
        assert_rate_headers(response)
        remaining = int(response.headers["x-ratelimit-remaining-tokens"])
        if reservation is None:
            reservation = TPM - remaining  # the prompt's bound (its bytes, the template) + max_tokens
            assert MAX_TOKENS < reservation <= MAX_TOKENS + len(raw) + TEMPLATE_TOKENS + MESSAGE_TOKENS
        assert remaining == TPM - used - reservation
        assert response.headers["x-ratelimit-remaining-requests"] == str(RPM - admitted - 1)
        usage = response.json()["usage"]
        used += usage["prompt_tokens"] + usage["completion_tokens"]
        admitted += 1
        # settled: the window now holds what the answers really used (seen from the other process)
        wait_settled(urls[(i + 1) % len(urls)], endpoint, TPM - used)

    assert reservation is not None and admitted >= 2, f"admitted {admitted}"
    print(f"\nreservation {reservation}, admitted {admitted}, {used} tokens used, then refused")
    assert_refused(response)
    # refused exactly when the reservation no longer fits, and for tokens, not requests
    assert used + reservation > TPM
    assert int(response.headers["x-ratelimit-remaining-requests"]) == RPM - admitted
    assert response.headers["x-ratelimit-remaining-tokens"] == str(TPM - used)
    assert "tokens per minute" in response.json()["error"]["message"]


def test_a_burst_of_multibyte_prompts_never_uses_more_than_the_token_quota(cluster: Cluster) -> None:
    """Each emoji is 4 bytes and up to 4 tokens: a reservation of characters / 4 let 50 concurrent
    requests through a 2,000-token quota. The reservation is the prompt's UTF-8 bytes (a bound no
    byte-level tokenizer exceeds), so the tokens admitted stay within the quota."""
    api = cluster.api
    warm_world, world = (
        World(sub=cluster.world.sub, ws="burst-warm"),
        World(sub=cluster.world.sub, ws="burst"),
    )
    for workspace in (warm_world, world):  # one endpoint per model per workspace
        api.ok(api.put(workspace.ws_path, {"location": workspace.location}))
        api.ok(api.subscribe(workspace, "maas-tiny-chat", CHAT), 201)
    warming = deploy(api, warm_world, "warm", CHAT)  # the replicas start in every process
    for url in cluster.urls:
        hello = {"messages": [{"role": "user", "content": "Hi."}], "max_tokens": 4}
        response = httpx.post(
            url + warming.route + "/chat/completions", json=hello, headers=warming.headers()
        )
        assert response.status_code == 200, response.text
    endpoint = deploy(cluster.api, world, "emoji", CHAT)
    quota = {"properties": {"tokensPerMinute": 2000, "requestsPerMinute": 1000}}
    cluster.api.ok(
        cluster.api.put(world.endpoint("emoji") + "/providers/Microsoft.MaaS/quotas/default", quota)
    )

    body = {"messages": [{"role": "user", "content": "\U0001f600" * 100}], "max_tokens": 8}
    answers = asyncio.run(_burst(cluster.urls, endpoint, 50, "/chat/completions", body))
    statuses = sorted(response.status_code for _, response in answers)
    assert set(statuses) <= {200, 429}, statuses
    admitted = [response.json()["usage"] for _, response in answers if response.status_code == 200]
    used = sum(usage["total_tokens"] for usage in admitted)
    print(f"\nadmitted {len(admitted)} of 50, {used} tokens used of a 2000-token quota")
    assert admitted, statuses
    assert all(usage["prompt_tokens"] > 4 * 100 / 4 for usage in admitted)  # more than chars / 4
    assert used <= 2000
    key = str(api.ok(api.get(world.endpoint("emoji")), 200)["id"])
    wait_for(lambda: usage_records(cluster.database_url, key) >= len(admitted), "the usage records", 20)
    assert usage_records(cluster.database_url, key) == len(admitted)

    # the window is not empty now: a request that can never fit is still a 400, not a 429
    for never in (
        {"messages": [{"role": "user", "content": "Hi."}], "max_tokens": 10**12},
        {"messages": [{"role": "user", "content": "x" * 3_900_000}]},
    ):
        response = httpx.post(
            cluster.urls[-1] + endpoint.route + "/chat/completions",
            json=never,
            headers=endpoint.headers(),
            timeout=60,
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "context_length_exceeded"
