"""The in-process quota store (`memory://`): exact sliding windows for one gateway process.

Why it exists: a single gateway (development, tests, small installations) needs quotas without a
Redis server. What it guarantees: every step (admit, settle, release, peek) runs synchronously
on the event loop with no await inside it, so each step is atomic with respect to every other
request in the process and a burst of N requests against a limit of L admits exactly min(N, L).
It is exact only within one process: several gateway processes need `redis://`.

Per key it keeps the admitted entries in time order (a deque), a dict from request id to entry,
and the running token total; admit and settle cost O(1) amortised. Released entries stay in the
deque as tombstones (recognised because the dict no longer points at them) and are dropped as
they reach either end, so release is O(1) too. A key's state is dropped when its last entry goes.
A key nobody touches again keeps its (at most limit-sized) state until `close`.
`reset_requests` is when the newest entry expires; `reset_tokens` is the same (an upper bound when
the newest entries hold no tokens), or 0 while the window holds no tokens at all.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final

from maas.gateway.quota.base import WINDOW_SECONDS, Decision, Limits

_MIN_RETRY_AFTER: Final = 0.001  # seconds


class _Entry:
    """One admitted request. Identity matters: a tombstone is an entry the dict no longer holds."""

    __slots__ = ("at", "request_id", "tokens")

    def __init__(self, at: float, request_id: str, tokens: int) -> None:
        self.at = at
        self.request_id = request_id
        self.tokens = tokens


class _Window:
    """The live entries of one key, oldest first, with their token total."""

    __slots__ = ("entries", "live", "total")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()  # time order; may hold tombstones
        self.live: dict[str, _Entry] = {}
        self.total = 0

    def expire(self, cutoff: float) -> None:
        """Drop entries admitted at or before `cutoff`, and tombstones at either end."""
        entries, live = self.entries, self.live
        while entries:
            entry = entries[0]
            if live.get(entry.request_id) is not entry:
                entries.popleft()
            elif entry.at <= cutoff:
                entries.popleft()
                del live[entry.request_id]
                self.total -= entry.tokens
            else:
                break
        while entries and live.get(entries[-1].request_id) is not entries[-1]:
            entries.pop()


class MemoryQuotaStore:
    """Sliding-window quotas in this process; see the module docstring for what is guaranteed."""

    def __init__(self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._keys: dict[str, _Window] = {}

    def _current(self, key: str, now: float) -> _Window | None:
        state = self._keys.get(key)
        if state is not None:
            state.expire(now - self._window)
            if not state.live:
                del self._keys[key]
                return None
        return state

    async def admit(self, key: str, request_id: str, tokens: int, limits: Limits) -> Decision:
        now = self._clock()
        state = self._current(key, now)
        if state is None:
            count = total = 0
        else:
            if request_id in state.live:  # a retried admit: already holds its slot
                return self._decision(True, limits, state, now)
            count, total = len(state.live), state.total
        if count < limits.requests_per_minute and total + tokens <= limits.tokens_per_minute:
            if state is None:
                state = self._keys[key] = _Window()
            entry = _Entry(now, request_id, tokens)
            state.entries.append(entry)
            state.live[request_id] = entry
            state.total += tokens
            return self._decision(True, limits, state, now)
        return self._decision(False, limits, state, now, self._retry_after(state, tokens, limits, now))

    async def settle(self, key: str, request_id: str, tokens: int) -> None:
        state = self._current(key, self._clock())
        if state is not None:
            entry = state.live.get(request_id)
            if entry is not None:
                state.total += tokens - entry.tokens
                entry.tokens = tokens

    async def release(self, key: str, request_id: str) -> None:
        state = self._current(key, self._clock())
        if state is not None:
            entry = state.live.pop(request_id, None)
            if entry is not None:
                state.total -= entry.tokens
                if not state.live:
                    del self._keys[key]
                else:
                    state.expire(float("-inf"))  # trims a tombstone left at either end

    async def peek(self, key: str, limits: Limits) -> Decision:
        now = self._clock()
        state = self._current(key, now)
        count, total = (0, 0) if state is None else (len(state.live), state.total)
        if count < limits.requests_per_minute and total <= limits.tokens_per_minute:
            return self._decision(True, limits, state, now)
        return self._decision(False, limits, state, now, self._retry_after(state, 0, limits, now))

    async def close(self) -> None:
        self._keys.clear()

    def _decision(
        self, admitted: bool, limits: Limits, state: _Window | None, now: float, retry_after: float = 0.0
    ) -> Decision:
        if state is None:
            rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
            return Decision(admitted, limits, max(0, rpm), max(0, tpm), 0.0, 0.0, retry_after)
        reset = max(0.0, state.entries[-1].at + self._window - now)
        return Decision(
            admitted,
            limits,
            max(0, limits.requests_per_minute - len(state.live)),
            max(0, limits.tokens_per_minute - state.total),
            reset,
            reset if state.total > 0 else 0.0,
            retry_after,
        )

    def _retry_after(self, state: _Window | None, tokens: int, limits: Limits, now: float) -> float:
        """Seconds until a request of `tokens` fits: when enough of the oldest entries expire."""
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        if rpm <= 0 or tokens > tpm:
            return self._window  # can never fit; the caller should have refused it already
        if state is None:
            return _MIN_RETRY_AFTER
        live = state.live
        index = len(live) - rpm  # this live entry (oldest first) must expire so that count + 1 <= rpm
        excess = state.total + tokens - tpm  # this many tokens must expire
        wait = 0.0
        position = 0
        for entry in state.entries:  # oldest first; stops as soon as both limits would fit
            if position > index and excess <= 0:
                break
            if live.get(entry.request_id) is not entry:
                continue
            expires = entry.at + self._window - now
            if position == index:
                wait = max(wait, expires)
            if excess > 0:
                excess -= entry.tokens
                if excess <= 0:
                    wait = max(wait, expires)
            position += 1
        return max(wait, _MIN_RETRY_AFTER)
