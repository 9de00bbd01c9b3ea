"""The upstream address policy: every link-local, metadata, unspecified, multicast and reserved
address is refused in every spelling (IPv4, IPv6, and IPv6 forms that carry an IPv4 address);
loopback, private and public addresses are allowed."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from maas.core import netpolicy
from maas.core.netpolicy import embedded_ipv4, parse_address, refused_address, refused_hostname

REFUSED = {
    # cloud metadata and instance services
    "169.254.169.254": "metadata",
    "169.254.170.2": "ECS",
    "169.254.169.253": "DNS",
    "169.254.0.23": "Tencent",
    "100.100.100.200": "Alibaba",
    "168.63.129.16": "WireServer",
    "192.0.0.192": "Oracle",
    "fd00:ec2::254": "AWS",
    "FD00:EC2::254": "AWS",
    "fd00:ec2::23": "AWS",
    "fd20:ce::254": "GCP",
    # link-local, unspecified, multicast, reserved
    "169.254.1.1": "link-local",
    "169.254.255.255": "link-local",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "febf::1": "link-local",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "broadcast",
    "240.0.0.1": "reserved",
    # IPv6 forms that carry a refused IPv4 address
    "::ffff:169.254.169.254": "inside an IPv6 address",
    "::ffff:a9fe:a9fe": "inside an IPv6 address",
    "[::ffff:169.254.169.254]": "inside an IPv6 address",
    "::169.254.169.254": "inside an IPv6 address",
    "::ffff:0:169.254.169.254": "inside an IPv6 address",
    "64:ff9b::169.254.169.254": "inside an IPv6 address",
    "64:ff9b:1::a9fe:a9fe": "inside an IPv6 address",
    "2002:a9fe:a9fe::1": "inside an IPv6 address",
    "2001:0:4136:e378:8000:63bf:5601:5601": "inside an IPv6 address",  # Teredo, client 169.254.169.254
    "::ffff:100.100.100.200": "Alibaba",
    "::ffff:0.0.0.0": "unspecified",
    "::ffff:224.0.0.1": "multicast",
    "::2": "unspecified",
}
ALLOWED = [
    "127.0.0.1",
    "127.0.0.2",
    "::1",
    "::ffff:127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.10",
    "100.64.0.1",  # CGNAT, where Alibaba's metadata address is not
    "fd12:3456::1",  # unique-local outside fd00:ec2::/32
    "fd00:ec3::254",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "2002:0808:0808::1",  # 6to4 of a public address
    "64:ff9b::8.8.8.8",
]


@pytest.mark.parametrize(("address", "phrase"), REFUSED.items())
def test_refused_addresses(address: str, phrase: str) -> None:
    reason = refused_address(address)
    assert reason is not None, address
    assert phrase.lower() in reason.lower()


@pytest.mark.parametrize("address", ALLOWED)
def test_allowed_addresses(address: str) -> None:
    assert refused_address(address) is None


def test_address_objects_and_non_addresses() -> None:
    assert refused_address(IPv4Address("169.254.169.254")) is not None
    assert refused_address(IPv6Address("::1")) is None
    assert refused_address("example.com") == "not an IP address ('example.com')"
    assert parse_address("example.com") is None
    assert parse_address("[fe80::1%eth0]") == IPv6Address("fe80::1")  # the zone is dropped


def test_embedded_ipv4() -> None:
    assert embedded_ipv4(IPv6Address("::ffff:1.2.3.4")) == IPv4Address("1.2.3.4")
    assert embedded_ipv4(IPv6Address("::1.2.3.4")) == IPv4Address("1.2.3.4")
    assert embedded_ipv4(IPv6Address("::ffff:0:1.2.3.4")) == IPv4Address("1.2.3.4")
    assert embedded_ipv4(IPv6Address("64:ff9b::1.2.3.4")) == IPv4Address("1.2.3.4")
    assert embedded_ipv4(IPv6Address("2002:0102:0304::")) == IPv4Address("1.2.3.4")
    for plain in ("::", "::1", "2606:4700::1", "fd12::1"):
        assert embedded_ipv4(IPv6Address(plain)) is None, plain


@pytest.mark.parametrize(
    "name",
    ["metadata.google.internal", "METADATA.google.internal.", "metadata", "instance-data", "metadata.goog"],
)
def test_metadata_names_are_refused_by_name(name: str) -> None:
    assert refused_hostname(name) is not None


def test_other_names_are_judged_by_address() -> None:
    for name in ("localhost", "vllm.internal", "api.openai.com", "metadata.example.com"):
        assert refused_hostname(name) is None


def test_public_names() -> None:
    assert set(netpolicy.__all__) == {
        "embedded_ipv4",
        "parse_address",
        "refused_address",
        "refused_hostname",
        "refused_url",
    }
