"""Continuous batching for the transformers engine: one scheduler thread decodes together every
request that an engine is serving.

Each step of the loop is a step boundary: cancelled rows leave, waiting requests join (up to
`max_batch` rows; the others wait here, first come first served), one forward pass computes the
next token of every row, each row chooses its token under its own request's settings, its text is
decoded and stop-scanned and streamed to its caller, and the rows that finished leave. Nobody
waits for a whole batch to end.

Why our own loop rather than transformers' `ContinuousBatchingManager` (5.24): its sampling is
set per manager, not per request. `do_sample` is fixed when the manager starts; the per-request
knobs are temperature, top_k and top_p, and only if the generation config had non-default values
at start; one global torch generator serves every request, so a request's `seed` cannot be
honoured; there are no presence/frequency penalties. MaaS owes each request all of these, so the
batch here is a left-padded `DynamicCache` (`decode_batch.py`) with per-row sampling
(`sampling.py`). Requests that join at the same step are prefilled together and merged into the
batch's cache. A row's logits then differ from a solo run's only by float rounding (~1e-5:
matrix products of other shapes round differently), so greedy text is the same alone or batched
short of a near-exact tie between two tokens (the tests compare them on the shipped model).

Measured with `bench/batching.py` on the shipped maas-tiny-chat (4.2 M parameters, fp32, a
2-core shared machine, torch's default 2 threads, streamed requests of 64 tokens, greedy):

    concurrent requests     1      4      16     32
    in-process tok/s      265    728  1,860  2,914   (7.0x one request at a time at 16)
    TTFT p50 ms           6.0   12.7   27.3   37.7
    over HTTP tok/s       224    521  1,537          (6.9x; `--serve`, through gateway and pool)

(the 32 column from a separate run with `--levels 1,4,16,32`). With one torch thread instead of
two: 232 / 576 / 1,828 tok/s, no better, so torch's default is kept.

A decode step for 16 rows costs ~2x a step for one (the matrix products dominate either way), so
batching pays on CPU as it does on GPUs. Joiners are prefilled together in one padded forward
pass: prefilling them one by one put TTFT p50 at 16 concurrent at ~74 ms instead of ~27-31.

Tenants: each request carries its subscription (`TENANT`, set by the replica). While several
tenants have rows in the batch, a tenant runs at most max(SHARED_ROWS, 2 x the smallest tenant's
rows); its other rows are set aside with their cache and logits (`DecodeBatch.take`) and rejoin
unchanged when the batch is no longer shared, so a quiet tenant's tokens cost a small batch's
step rather than a flood's. Measured with `bench/fairness.py`: the quiet tenant's p90 under a
flood fell from 3.2-3.4x to 2.6x its solo figure (p50 ~2.3x either way on 2 shared cores, where
the other replica, the gateway and the load generator take the rest of the CPU).

Cancelling (the caller's async generator is closed, or its task cancelled) marks the request;
it leaves at the next step boundary, a few milliseconds later, and a request still waiting never
runs. A failure inside a step fails the rows of that step with a `MaasError` and the loop goes on.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import TENANT
from maas.serving.engines.decode_batch import DecodeBatch, Runner
from maas.serving.engines.detokenizer import Detokenizer
from maas.serving.engines.generation import Plan, StopScanner
from maas.serving.engines.sampling import RowSampling, choose

__all__ = ["DEFAULT_MAX_BATCH", "Batcher", "Piece"]

DEFAULT_MAX_BATCH = 32
SHARED_ROWS = 4  # while tenants share the batch, each runs at most max(this, 2 x the smallest's rows)
PREFILL_BUDGET = 4096  # padded prompt tokens prefilled at one step boundary (at least one request)
Piece = tuple[str, int, str | None]  # text, tokens generated so far, finish reason at the end


class _Request:
    """One generation as the scheduler sees it. `emit` runs in the scheduler thread."""

    def __init__(
        self,
        ids: list[int],
        how: Plan,
        detokenizer: Detokenizer,
        emit: Callable[[Piece | BaseException], None],
    ) -> None:
        self.ids = ids
        self.plan = how
        self.sampling = RowSampling.of(how)
        self.scanner = StopScanner(how.stop)
        self.generated = 0
        self.detokenizer = detokenizer
        self.cancelled = False
        self.tenant = TENANT.get()
        self._emit = emit

    def emit(self, item: Piece | BaseException) -> None:
        try:
            self._emit(item)
        except RuntimeError:  # the caller's event loop has closed: nobody is listening
            self.cancelled = True

    def fail(self, exc: BaseException) -> None:
        if not isinstance(exc, MaasError):
            error = MaasError(f"Generation failed: {type(exc).__name__}: {exc}", code="GenerationFailed")
            error.__cause__ = exc
            exc = error
        self.emit(exc)

    def advance(self, token: int, eos: frozenset[int]) -> bool:
        """Take the next token; emit what text may be released. True when the request is done."""
        self.generated += 1
        ended = token in eos
        text = self.detokenizer.text if ended else self.detokenizer.add(token)
        piece = self.scanner.feed(text)
        if self.scanner.stopped or ended or self.generated >= self.plan.max_new_tokens:
            finish = "stop" if self.scanner.stopped or ended else "length"
            self.emit((piece + self.scanner.feed(text, final=True), self.generated, finish))
            return True
        if piece:
            self.emit((piece, self.generated, None))
        return False


class Batcher:
    """The scheduler of one engine: `stream` a generation; `close` fails what is left and stops."""

    def __init__(
        self,
        runner: Runner,
        tokenizer: Any,
        eos: frozenset[int],
        *,
        repetition_penalty: float = 1.0,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.runner = runner
        self.tokenizer = tokenizer
        self.eos = eos
        self.repetition_penalty = repetition_penalty
        self.max_batch = max(1, max_batch)
        self._mergeable: bool | None = None  # learnt from the first prefill
        self._changed = threading.Condition()
        self._waiting: deque[_Request] = deque()
        self._closed = False
        self._rows: list[_Request] = []  # the scheduler thread's own, like _batch
        self._batch: DecodeBatch | None = None
        # rows of a tenant over its share while tenants share the batch: set aside, not stepped
        self._parked_rows: list[_Request] = []
        self._parked: DecodeBatch | None = None
        self._thread = threading.Thread(target=self._run, name="maas-batcher", daemon=True)
        self._thread.start()

    # -- the callers' side (event loop threads) --------------------------------------------------
    async def stream(self, ids: list[int], how: Plan) -> AsyncGenerator[Piece, None]:
        """Pieces of text as they are released; the last one carries the finish reason."""
        loop = asyncio.get_running_loop()
        channel: asyncio.Queue[Piece | BaseException] = asyncio.Queue()

        def emit(item: Piece | BaseException) -> None:
            loop.call_soon_threadsafe(channel.put_nowait, item)

        request = _Request(ids, how, Detokenizer(self.tokenizer), emit)
        with self._changed:
            if self._closed:
                raise Unavailable("The model is shutting down.", code="model_unloaded")
            self._waiting.append(request)
            self._changed.notify()
        try:
            while True:
                item = await channel.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item[2] is not None:
                    return
        finally:
            request.cancelled = True  # the caller went away or the stream ended: leave the batch

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the scheduler after its current step; every request left fails (blocking)."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> int:
        return len(self._rows)

    # -- the scheduler thread --------------------------------------------------------------------
    def _run(self) -> None:
        import torch

        try:
            with torch.inference_mode():
                while (joining := self._admit()) is not None:
                    try:
                        self._step(joining)
                    except Exception as exc:  # a failed forward pass: its rows fail, the loop goes on
                        for request in {*self._rows, *self._parked_rows, *joining}:
                            request.fail(exc)
                        self._rows, self._batch = [], None
                        self._parked_rows, self._parked = [], None
        finally:  # closed, or the loop itself broke: nobody may wait for it any more
            with self._changed:
                self._closed = True
                left = [*self._rows, *self._parked_rows, *self._waiting]
                self._waiting.clear()
            self._rows, self._batch = [], None
            self._parked_rows, self._parked = [], None
            for request in left:
                request.fail(Unavailable("The model was unloaded while generating.", code="model_unloaded"))

    def _admit(self) -> list[_Request] | None:
        """Wait for work; take the requests that join at this step boundary. None once closed."""
        with self._changed:
            while not self._closed and not self._waiting and not self._rows and not self._parked_rows:
                self._changed.wait()
            if self._closed:
                return None
            room = (self.max_batch if self._mergeable else 1) - len(self._rows) - len(self._parked_rows)
            joining: list[_Request] = []
            longest = 0
            while self._waiting and room > 0:
                request = self._waiting[0]
                if request.cancelled:
                    self._waiting.popleft()
                    continue
                width = max(longest, len(request.ids))
                if joining and width * (len(joining) + 1) > PREFILL_BUDGET:
                    break  # the rest join at the next step
                self._waiting.popleft()
                joining.append(request)
                longest = width
                room -= 1
            return joining

    def _share(self) -> None:
        """While several tenants have rows here, each runs at most max(SHARED_ROWS, 2 x the
        smallest tenant's rows); the rest are set aside with their cache and logits and rejoin,
        unchanged, when the batch is no longer shared. A quiet tenant's tokens then cost a small
        batch's step, not a flood's (the pool already keeps tenants on separate replicas where it
        can; this covers the rows that were running before the quiet one arrived)."""
        live = [r for r in self._rows if not r.cancelled]
        parked = [r for r in self._parked_rows if not r.cancelled]
        counts: dict[str, int] = {}
        for request in live + parked:
            counts[request.tenant] = counts.get(request.tenant, 0) + 1
        limit = max(SHARED_ROWS, 2 * min(counts.values())) if len(counts) > 1 else None
        running: dict[str, int] = {}
        stay: list[int] = []
        park: list[int] = []
        for index, request in enumerate(self._rows):
            running[request.tenant] = running.get(request.tenant, 0) + 1
            over = limit is not None and running[request.tenant] > limit and not request.cancelled
            (park if over else stay).append(index)
        back: list[int] = []
        keep_parked: list[int] = []
        for index, request in enumerate(self._parked_rows):
            if request.cancelled:
                continue
            if limit is None or running.get(request.tenant, 0) < limit:
                running[request.tenant] = running.get(request.tenant, 0) + 1
                back.append(index)
            else:
                keep_parked.append(index)
        if not park and not back and len(keep_parked) == len(self._parked_rows):
            return
        old_parked, old_parked_rows = self._parked, self._parked_rows
        new_parked: DecodeBatch | None = None
        new_parked_rows: list[_Request] = []
        if park and self._batch is not None:
            new_parked = self._batch.take(park)
            new_parked_rows = [self._rows[i] for i in park]
            if stay:
                self._batch.keep(stay)
                self._rows = [self._rows[i] for i in stay]
            else:
                self._batch, self._rows = None, []
        if old_parked is not None:
            if back:
                returning = old_parked.take(back)
                if self._batch is None:
                    self._batch = returning
                else:
                    self._batch.merge(returning)
                self._rows.extend(old_parked_rows[i] for i in back)
            if keep_parked:
                old_parked.keep(keep_parked)
                still = [old_parked_rows[i] for i in keep_parked]
                if new_parked is None:
                    new_parked, new_parked_rows = old_parked, still
                else:
                    new_parked.merge(old_parked)
                    new_parked_rows.extend(still)
        self._parked, self._parked_rows = new_parked, new_parked_rows

    def _step(self, joining: list[_Request]) -> None:
        joining = [request for request in joining if not request.cancelled]
        if joining:
            fresh = DecodeBatch.prefill(
                self.runner, [r.ids for r in joining], track_seen=self.repetition_penalty != 1.0
            )
            if self._mergeable is None:
                self._mergeable = fresh.mergeable
            if self._batch is None:
                self._batch = fresh
            else:
                self._batch.merge(fresh)
            self._rows.extend(joining)
        if self._mergeable:
            self._share()
        batch, rows = self._batch, self._rows
        if batch is None:
            return
        tokens = choose(
            batch.logits, [r.sampling for r in rows], batch.counts, batch.seen, self.repetition_penalty
        )
        staying: list[int] = []
        for index, (request, token) in enumerate(zip(rows, tokens, strict=True)):
            if request.cancelled:
                continue
            try:
                done = request.advance(token, self.eos)
            except Exception as exc:  # this row's text could not be decoded: only it fails
                request.fail(exc)
                done = True
            if not done and not request.cancelled:
                staying.append(index)
        if not staying:
            self._rows, self._batch = [], None
            return
        batch.keep(staying)
        self._rows = [rows[i] for i in staying]
        batch.step([tokens[i] for i in staying])
