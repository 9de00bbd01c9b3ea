"""The usage ledger survives a SIGKILL of the server mid-load (DESIGN §6: a record for every response
a client received, none twice).

A real `maas serve` (SQLite in a temporary data directory) serves the shipped tiny chat model
(non-streamed and streamed) and the wordllama embeddings on loopback to several concurrent
clients. Mid-load the server process gets SIGKILL. Every request whose answer the client received
in full (200 and the whole body; for a stream, `data: [DONE]`) is noted with its `x-request-id`,
which is the usage record's request id. The server then restarts on the same data directory, and
its ledger replays the journal the dead process left. Reading the database directly afterwards:

- every fully received request has exactly one usage record, with the usage its answer reported;
- no request id is recorded twice, and there are no more records than requests sent;
- the hourly running totals add up, per endpoint and meter, to exactly the records' quantities,
  and their record counts to the number of records (a replayed record is never counted twice);
- what the public cost query (`POST {scope}/providers/Microsoft.CostManagement/query`, what
  `maas usage show` prints) bills after the restart is what the clients counted: per endpoint
  and meter, the tokens are the sum of the `usage` of every answer received in full, plus only
  the records of requests the kill cut (their answer was journaled, so it is billed, but the
  client never had all of it: such a record must belong to a request in flight at the kill);
  each meter's cost is exactly its tokens × the offer's price per 1K / 1000 (`Decimal`), and the
  workspace's total cost is exactly the client-side cost of those tokens at the offer's prices.

The kill must land mid-load (requests in flight fail), so the test cannot pass vacuously.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest
import sqlalchemy as sa

from support.api import Api, World
from support.gateway import Deployed, deploy, sse_json
from support.server import free_port

CHAT = "azureml://registries/maas/models/maas-tiny-chat"
EMBED = "azureml://registries/maas/models/wordllama-embed"
INPUT_METER = "paygo-inference-input-tokens"
OUTPUT_METER = "paygo-inference-output-tokens"
FREE_METERS = ("free-inference-input-tokens", "free-inference-output-tokens")  # the free embeddings'
TOKEN = "ledger-faults-admin-token-0123456789"
CLIENTS = 6
LOAD_SECONDS = 2.0
KINDS = ("chat", "stream", "embed")
MAX_TOKENS = 8  # what a chat request may generate
WORLD = World()
COSTS = "/providers/Microsoft.CostManagement/query"


# -- the server process ----------------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextlib.contextmanager
def maas_serve(data_dir: Path, timeout: float = 90.0) -> Iterator[Server]:
    """`maas serve` in its own session (so that its whole process tree can be found and ended),
    with only the settings this test chooses; SIGTERM and wait at the end unless it is dead."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("MAAS_")}
    env["MAAS_ADMIN_TOKEN"] = TOKEN
    log = data_dir.parent / f"server-{port}.log"
    args = [sys.executable, "-m", "maas", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"maas serve exited with {process.returncode}:\n{log.read_text()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/health", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"maas serve did not start:\n{log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of its session is left (replicas)


# -- the load --------------------------------------------------------------------------------------
@dataclass
class Outcome:
    kind: str
    started: float
    complete: bool = False  # the client received the whole answer
    request_id: str | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) as the answer reported them
    status: int | None = None
    error: str | None = None


def send(client: httpx.Client, kind: str, chat: Deployed, embed: Deployed, n: int) -> Outcome:
    outcome = Outcome(kind, time.monotonic())
    ask = {"messages": [{"role": "user", "content": f"Hello number {n}!"}], "max_tokens": MAX_TOKENS}
    try:
        if kind == "embed":
            body: dict[str, Any] = {"input": [f"a cat number {n}", "a dog"]}
            response = client.post(embed.route + "/embeddings", json=body, headers=embed.headers())
            outcome.status = response.status_code
            answer = response.json() if response.status_code == 200 else None
        elif kind == "chat":
            response = client.post(chat.route + "/chat/completions", json=ask, headers=chat.headers())
            outcome.status = response.status_code
            answer = response.json() if response.status_code == 200 else None
        else:
            body = {**ask, "stream": True}
            with client.stream(
                "POST", chat.route + "/chat/completions", json=body, headers=chat.headers()
            ) as response:
                outcome.status = response.status_code
                outcome.request_id = response.headers.get("x-request-id")
                raw = response.read()
            answer = None
            if response.status_code == 200 and raw.endswith(b"data: [DONE]\n\n"):
                events, _ = sse_json(raw)
                assert not any("error" in e for e in events), raw[-500:]
                answer = next(e for e in reversed(events) if e.get("usage"))
        outcome.request_id = response.headers.get("x-request-id")
        if answer is not None:
            usage = answer["usage"]
            outcome.usage = (int(usage["prompt_tokens"]), int(usage.get("completion_tokens") or 0))
            outcome.complete = True
        elif outcome.status != 200:
            outcome.error = f"{outcome.status}: {response.text[:300] if kind != 'stream' else ''}"
    except (httpx.HTTPError, OSError, orjson.JSONDecodeError, ValueError) as exc:
        outcome.error = repr(exc)
    return outcome


class Load:
    """CLIENTS threads, each with its own keep-alive connection, sending back to back until stopped."""

    def __init__(self, url: str, chat: Deployed, embed: Deployed) -> None:
        self.url, self.chat, self.embed = url, chat, embed
        self.stop = threading.Event()
        self.outcomes: list[list[Outcome]] = [[] for _ in range(CLIENTS)]
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def _client(self, index: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                kind = KINDS[(index + n) % len(KINDS)]
                self.outcomes[index].append(send(client, kind, self.chat, self.embed, n))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def received(self) -> int:
        return sum(o.complete for outcomes in self.outcomes for o in list(outcomes))

    def finish(self) -> list[Outcome]:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive(), "a client did not stop"
        return [o for outcomes in self.outcomes for o in outcomes]


# -- the world, its prices and the database ---------------------------------------------------------
@dataclass(frozen=True)
class Side:
    """What one side (prompt or generated tokens) of an endpoint's requests is billed on."""

    meter: str
    per_1k: Decimal


Prices = dict[str, tuple[Side, Side]]  # endpoint name → (input side, output side)


def endpoint_of(kind: str) -> str:
    return "embed" if kind == "embed" else "chat"


def json_decimal(response: httpx.Response) -> Any:
    """A JSON answer with its numbers as written (`Decimal`), not as binary floats."""
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def offer_prices(api: Api, name: str) -> tuple[Side, Side]:
    """The endpoint's model's offer, read through the public API: each side is billed at the
    offer's `pricePer1K` on its paid meter, or on that side's free meter at 0 when the offer
    does not price it (DESIGN: a free model's offer has `meters: []`)."""
    model = api.ok(api.get(WORLD.endpoint(name)), 200)["properties"]["modelSettings"]["modelId"]
    offers = json_decimal(api.get("/providers/Microsoft.MaaS/offers"))["value"]
    (offer,) = [o for o in offers if o["properties"]["modelId"].lower() == model.lower()]
    by_meter = {m["meterId"]: Decimal(m["pricePer1K"]) for m in offer["properties"]["meters"]}

    def side(paid: str, free: str) -> Side:
        price = by_meter.get(paid, Decimal(0))
        return Side(paid, price) if price else Side(free, Decimal(0))

    return side(INPUT_METER, FREE_METERS[0]), side(OUTPUT_METER, FREE_METERS[1])


def deploy_endpoints(url: str) -> tuple[Deployed, Deployed, Prices]:
    """A workspace with the shipped chat model (a marketplace offer with prices: subscribe first)
    and the free shipped embeddings, each behind a serverless endpoint; and their prices."""
    with httpx.Client(base_url=url, timeout=60) as http:
        api = Api(http, TOKEN)  # type: ignore[arg-type]
        world = api.world(WORLD, catalog=False)
        api.ok(api.subscribe(world, "maas-tiny-chat", CHAT), 201)
        chat, embed = deploy(api, world, "chat", CHAT), deploy(api, world, "embed", EMBED)
        return chat, embed, {name: offer_prices(api, name) for name in ("chat", "embed")}


@dataclass(frozen=True)
class Billed:
    """What the cost query answers: per (endpoint, meter) the tokens and cost, and the
    workspace's totals (one row per currency)."""

    meters: dict[tuple[str, str], tuple[int, Decimal, str]]  # → (tokens, cost, currency)
    total: dict[str, tuple[int, Decimal]]  # currency → (tokens, cost)


def query_costs(api: Api, scope: str, since: datetime, grouping: list[str]) -> list[dict[str, Any]]:
    """`POST {scope}/providers/Microsoft.CostManagement/query` from `since` to an hour from now,
    as `maas usage show` sends it; the rows as {column: value} (a measure's column is named
    after the measure, as Azure's are), numbers as written."""
    until = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": since.isoformat(), "to": until.isoformat()},
        "dataset": {
            "aggregation": {
                "cost": {"name": "PreTaxCost", "function": "Sum"},
                "tokens": {"name": "UsageQuantity", "function": "Sum"},
            },
            "grouping": [{"type": "Dimension", "name": name} for name in grouping],
        },
    }
    result = json_decimal(api.post(scope + COSTS, body))["properties"]
    names = [column["name"] for column in result["columns"]]
    return [dict(zip(names, row, strict=True)) for row in result["rows"]]


def billed(url: str, since: datetime) -> Billed:
    meters: dict[tuple[str, str], tuple[int, Decimal, str]] = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        api = Api(http, TOKEN)  # type: ignore[arg-type]
        for name in ("chat", "embed"):
            for row in query_costs(api, WORLD.endpoint(name), since, ["MeterId"]):
                assert (name, row["MeterId"]) not in meters, row
                meters[(name, row["MeterId"])] = (row["UsageQuantity"], row["PreTaxCost"], row["Currency"])
        rows = query_costs(api, WORLD.ws_path, since, [])
    total = {row["Currency"]: (row["UsageQuantity"], row["PreTaxCost"]) for row in rows}
    assert len(total) == len(rows), rows
    return Billed(meters, total)


@dataclass(frozen=True)
class Ledger:
    records: list[Any]
    totals: list[Any]


def read_ledger(database: Path) -> Ledger:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            records = connection.execute(
                sa.text(
                    "SELECT request_id, endpoint_key, route, input_tokens, output_tokens, meters, status "
                    "FROM usage_records"
                )
            ).all()
            totals = connection.execute(
                sa.text("SELECT endpoint_key, meter_id, price_per_1k, quantity, records FROM usage_totals")
            ).all()
    finally:
        engine.dispose()
    return Ledger(list(records), list(totals))


def journal_lines(folder: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in folder.glob("*.journal"))


# -- the test --------------------------------------------------------------------------------------
@contextlib.contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Hold SQLite's write lock: the ledger's group commits wait (readers in WAL mode do not)."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@pytest.mark.parametrize("stalled", [False, True], ids=["writer-keeping-up", "writer-stalled"])
def test_sigkill_mid_load_keeps_every_received_record_once(tmp_path: Path, stalled: bool) -> None:
    """writer-stalled: for the last second before the kill the database's write lock is held
    elsewhere, so the answers sent meanwhile are only in the journal when the process dies."""
    data = tmp_path / "data"
    since = datetime.now(UTC) - timedelta(hours=1)  # the cost queries' period: all of this test
    with maas_serve(data) as server:
        chat, embed, prices = deploy_endpoints(server.url)
        with httpx.Client(base_url=server.url, timeout=60) as client:  # cold starts, off the clock
            warm = [send(client, kind, chat, embed, 0) for kind in KINDS]
        assert all(o.complete for o in warm), [o.error for o in warm]
        load = Load(server.url, chat, embed)
        load.start()
        began = time.monotonic()
        while time.monotonic() - began < LOAD_SECONDS or load.received() < 30:
            assert time.monotonic() - began < 60, f"only {load.received()} answers in 60 s"
            time.sleep(0.05)
        with write_locked(data / "maas.db") if stalled else contextlib.nullcontext():
            if stalled:
                during = load.received()
                time.sleep(1.0)
                assert load.received() > during, "no answer while the store was locked"
            family = psutil.Process(server.process.pid).children(recursive=True)
            os.kill(server.process.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            assert server.process.wait(timeout=10) == -signal.SIGKILL
        outcomes = load.finish()
        # its children (fork server, replicas) notice on their own; maas_serve ends what is left
        _, orphans = psutil.wait_procs(family, timeout=10)
    survivors = [p.pid for p in orphans]

    ledger_dir = data / "ledger"
    journals = set(ledger_dir.glob("*.journal"))
    in_journal = journal_lines(ledger_dir)
    before = read_ledger(data / "maas.db")
    saved = {path: path.read_bytes() for path in journals}
    with maas_serve(data) as restarted:  # the ledger replays the dead process's journal before serving
        after = read_ledger(data / "maas.db")
        assert not any(path.exists() for path in journals), "a replayed journal was left behind"
        bill = billed(restarted.url, since)
    if stalled:
        # a crash in the replay itself, after its commit and before the journal was removed:
        # the next start replays the same lines again, and must add nothing
        for path, content in saved.items():
            path.write_bytes(content)
        with maas_serve(data) as third:
            again = read_ledger(data / "maas.db")
            assert not any(path.exists() for path in saved), "the journal was not replayed again"
            assert billed(third.url, since) == bill
        assert sorted(map(tuple, again.records)) == sorted(map(tuple, after.records))
        assert sorted(map(tuple, again.totals)) == sorted(map(tuple, after.totals))

    # the kill landed mid-load: requests in flight got no (whole) answer
    received = warm + [o for o in outcomes if o.complete]
    cut = [o for o in outcomes if not o.complete and o.started < killed_at]
    assert cut, "no request was in flight when the server was killed"
    assert all(o.status in (None, 200) for o in outcomes), [o.error for o in outcomes if o.status != 200][:5]
    assert len(received) >= 30 and {o.kind for o in received} == set(KINDS)

    # exactly one record for every answer received, with the usage the answer reported
    counts = Counter(row.request_id for row in after.records)
    assert not [i for i, n in counts.items() if n > 1], "a request id was recorded twice"
    assert len(after.records) <= len(warm) + len(outcomes)  # no record without a request
    by_id = {row.request_id: row for row in after.records}
    ids = [o.request_id for o in received]
    assert None not in ids and len(set(ids)) == len(ids)
    missing = [o for o in received if o.request_id not in by_id]
    assert not missing, f"{len(missing)} received answers have no usage record: {missing[:3]}"
    for outcome in received:
        row = by_id[outcome.request_id]
        assert (row.input_tokens, row.output_tokens) == outcome.usage, (outcome, row)
        assert row.status == "Succeeded"
        assert row.route == ("embeddings" if outcome.kind == "embed" else "chat/completions")

    # the running totals are exactly the sums of the records, per endpoint and meter
    quantity: Counter[tuple[str, str]] = Counter()
    records: Counter[tuple[str, str]] = Counter()
    for row in after.records:
        meters = orjson.loads(row.meters) if isinstance(row.meters, str | bytes) else row.meters
        in_meter, out_meter = FREE_METERS if row.route == "embeddings" else (INPUT_METER, OUTPUT_METER)
        tokens = {in_meter: row.input_tokens, out_meter: row.output_tokens}
        assert {m["meterId"]: m["quantity"] for m in meters} == tokens, row
        for meter_id, count in tokens.items():
            quantity[(row.endpoint_key, meter_id)] += count
            records[(row.endpoint_key, meter_id)] += 1
    total_quantity: Counter[tuple[str, str]] = Counter()
    total_records: Counter[tuple[str, str]] = Counter()
    for total in after.totals:
        total_quantity[(total.endpoint_key, total.meter_id)] += total.quantity
        total_records[(total.endpoint_key, total.meter_id)] += total.records
    assert total_quantity == quantity
    assert total_records == records
    assert len(records) == 4  # two endpoints × two meters

    # what is billed after the restart, through the public cost query, is what the clients counted.
    # The offer prices the chat model's two sides and not the free embeddings' (so the sums below
    # cover paid and free meters, and the cost cannot be vacuously 0).
    (chat_in, chat_out), (embed_in, embed_out) = prices["chat"], prices["embed"]
    assert (chat_in.meter, chat_out.meter) == (INPUT_METER, OUTPUT_METER) and chat_in.per_1k > 0
    assert chat_out.per_1k > 0 and (embed_in.meter, embed_out.meter) == FREE_METERS
    price = {(name, side.meter): side.per_1k for name, sides in prices.items() for side in sides}
    counted: Counter[tuple[str, str]] = Counter()  # the usage of every answer received in full
    for outcome in received:
        assert outcome.usage is not None
        name = endpoint_of(outcome.kind)
        for side, used in zip(prices[name], outcome.usage, strict=True):
            counted[(name, side.meter)] += used
    # Records no client had the whole answer of: only a request the kill cut may have one (its
    # answer was journaled before its last bytes went out, then the process died). A cut stream's
    # request id is known (its headers came first); a cut non-streamed answer may have none.
    received_ids = set(ids)
    seen_ids = {o.request_id for o in outcomes if o.request_id is not None}
    cut_ids = {o.request_id for o in cut if o.request_id is not None}
    extra = [row for row in after.records if row.request_id not in received_ids]
    assert not [r for r in extra if r.request_id in seen_ids - cut_ids], "a record of no cut request"
    anonymous = Counter(r.route for r in extra if r.request_id not in cut_ids)
    unknown_cut = Counter(
        "embeddings" if o.kind == "embed" else "chat/completions" for o in cut if o.request_id is None
    )
    assert not anonymous - unknown_cut, (anonymous, unknown_cut)  # at most one record per cut request
    cut_billed: Counter[tuple[str, str]] = Counter()
    for row in extra:
        name = "embed" if row.route == "embeddings" else "chat"
        assert row.output_tokens <= (0 if name == "embed" else MAX_TOKENS), row
        for side, used in zip(prices[name], (row.input_tokens, row.output_tokens), strict=True):
            cut_billed[(name, side.meter)] += used

    def cost_of(tokens: Counter[tuple[str, str]]) -> Decimal:
        return sum((count * price[key] / 1000 for key, count in tokens.items()), Decimal(0))

    expected = counted + cut_billed
    tokens_billed = {key: expected[key] for key in sorted(price)}  # both sides of both, 0s included
    assert {key: used for key, (used, _, _) in bill.meters.items()} == tokens_billed
    for key, (used, cost, currency) in bill.meters.items():
        # exact: a cost has a few significant digits, so the float the API writes reads back as it
        assert cost == used * price[key] / 1000, (key, used, cost, price[key])
        assert currency == "USD"
    client_cost, cut_cost = cost_of(counted), cost_of(cut_billed)
    assert bill.total == {"USD": (sum(expected.values()), client_cost + cut_cost)}, bill.total
    # the running totals the query reads carry the offer's prices, and cost exactly the same
    assert {(row.meter_id, Decimal(row.price_per_1k)) for row in after.totals} == {
        (meter, per_1k) for (_, meter), per_1k in price.items()
    }
    stored = sum((row.quantity * Decimal(row.price_per_1k) / 1000 for row in after.totals), Decimal(0))
    assert stored == client_cost + cut_cost

    # what the journal replay added (without a stall the writer may have caught up before the kill)
    assert len(before.records) <= len(after.records)
    if stalled:
        assert in_journal > 0 and len(before.records) < len(after.records)
        assert [o for o in received if o.request_id not in {r.request_id for r in before.records}]
    print(
        f"\nreceived {len(received)} answers, {len(cut)} cut by the kill ({len(cut_ids)} with a request id); "
        f"records: {len(before.records)} "
        f"in the database after the kill, {in_journal} lines in the dead process's journal, "
        f"{len(after.records)} after the restart; children left running after 10 s: {survivors}"
        f"\nbilled tokens by (endpoint, meter): {tokens_billed}, of which "
        f"{len(extra)} records of cut requests: {dict(sorted((+cut_billed).items()))}"
        f"\ncost {client_cost + cut_cost} USD (answers received: {client_cost}, cut requests: {cut_cost})"
    )
