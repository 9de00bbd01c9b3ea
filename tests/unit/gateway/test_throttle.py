"""The wrong-key throttle: a token bucket per address, keys an address used pass while it is
throttled, memory stays bounded, and the address comes from the peer unless a proxy is trusted."""

from __future__ import annotations

import pytest

from maas.gateway.throttle import KeyThrottle, client_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_budget_then_one_attempt_per_share_of_a_minute() -> None:
    clock = Clock()
    throttle = KeyThrottle(20, clock=clock)
    for _ in range(20):
        assert throttle.wait("a") == 0
        throttle.failed("a")
    assert throttle.wait("a") == 3  # 60 s / 20
    clock.now += 2.5
    assert throttle.wait("a") == 1
    clock.now += 0.5
    assert throttle.wait("a") == 0  # one token back: one more attempt is judged
    throttle.failed("a")
    assert throttle.wait("a") == 3
    assert throttle.wait("b") == 0  # other addresses are not touched
    clock.now += 60
    assert throttle.wait("a") == 0
    assert "a" not in throttle._buckets  # refilled buckets are forgotten


def test_failures_while_throttled_do_not_dig_deeper() -> None:
    clock = Clock()
    throttle = KeyThrottle(2, clock=clock)
    for _ in range(10):
        throttle.failed("a")
    clock.now += 30
    assert throttle.wait("a") == 0


def test_keys_are_remembered_per_address() -> None:
    throttle = KeyThrottle(5, clock=Clock())
    throttle.passed("a", "digest-1")
    assert throttle.known("a", "digest-1")
    assert not throttle.known("b", "digest-1")
    assert not throttle.known("a", "digest-2")


def test_memory_is_bounded_least_recently_used_first() -> None:
    throttle = KeyThrottle(1, max_entries=3, clock=Clock())
    for address in ("a", "b", "c"):
        throttle.failed(address)
        throttle.passed(address, "d")
    throttle.failed("a")  # used again: now the most recent
    throttle.passed("a", "d")
    throttle.failed("x")
    throttle.passed("x", "d")
    assert list(throttle._buckets) == ["c", "a", "x"]
    assert [address for address, _ in throttle._known] == ["c", "a", "x"]


def test_zero_turns_it_off() -> None:
    throttle = KeyThrottle(0, clock=Clock())
    for _ in range(100):
        throttle.failed("a")
        throttle.passed("a", "d")
    assert throttle.wait("a") == 0
    assert not throttle._buckets and not throttle._known


@pytest.mark.parametrize(
    ("peer", "forwarded", "trust", "address"),
    [
        (("192.0.2.1", 5000), None, False, "192.0.2.1"),
        (("192.0.2.1", 5000), "198.51.100.7", False, "192.0.2.1"),  # not trusted: ignored
        (("192.0.2.1", 5000), "198.51.100.7", True, "198.51.100.7"),
        (("192.0.2.1", 5000), "6.6.6.6, 198.51.100.7 ", True, "198.51.100.7"),  # the proxy's entry
        (("192.0.2.1", 5000), " , ", True, "192.0.2.1"),  # nothing usable: the peer
        (("2001:db8::1", 5000), None, False, "2001:db8::/64"),
        (("2001:db8:0:0:ffff::9", 5000), None, False, "2001:db8::/64"),
        (("::ffff:192.0.2.9", 5000), None, False, "192.0.2.9"),
        (("192.0.2.1", 5000), "[2001:db8:0:1::5]", True, "2001:db8:0:1::/64"),
        (("testclient", 50000), None, False, "testclient"),
        (None, None, False, ""),
    ],
)
def test_client_address(
    peer: tuple[str, int] | None, forwarded: str | None, trust: bool, address: str
) -> None:
    assert client_address(peer, forwarded, trust) == address
