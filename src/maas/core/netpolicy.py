"""Which network addresses an OpenAI-compatible upstream may live at: the one policy that model
registration (the catalog) and the relay (the openai-upstream engine, at connect time) both apply.

An upstream URL is chosen by whoever registers a model version, and the relay sends tenants'
requests there and returns what comes back, so a URL that reaches the machine's own cloud metadata
service would hand credentials to a tenant. The rule:

- **Never allowed**, whatever the settings say: unspecified addresses (`0.0.0.0/8`, `::`, which
  Linux connects to the local host), link-local (`169.254.0.0/16`, `fe80::/10`: on every cloud
  that range belongs to the provider's instance services), multicast, broadcast and the reserved
  `240.0.0.0/4`, and the cloud metadata services that live outside link-local (`fd00:ec2::/32`
  AWS's IPv6 instance services, `fd20:ce::254` GCP's IPv6 metadata, `100.100.100.200` Alibaba,
  `168.63.129.16` Azure's WireServer, `192.0.0.192` Oracle's legacy metadata) together with the
  names those services answer on (`metadata.google.internal`, …).
- IPv6 forms that carry an IPv4 address are judged by that address as well: mapped
  (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), translated (`::ffff:0:a.b.c.d`), NAT64
  (`64:ff9b::/96`, `64:ff9b:1::/48` in its /96 form), 6to4 (`2002::/16`) and Teredo.
- **Allowed**: everything else, loopback and private networks (RFC 1918, CGNAT, unique-local
  IPv6) included, since an operator's vLLM or Ollama usually lives there.

A host name is judged by every address it resolves to; one refused address refuses the name (a
name that answers with a metadata address among others is not an upstream, it is an attack).
The registration resolves the name once and refuses one that does not resolve unless the operator
allows private upstreams (`MAAS_ALLOW_PRIVATE_UPSTREAMS`, for names that only resolve where the
gateway runs); the relay resolves again at every connection and checks the addresses it is about
to connect to, so a name that later resolves elsewhere (DNS rebinding) is refused there.

This module is pure (no I/O): callers resolve names and raise their own errors.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

__all__ = ["embedded_ipv4", "parse_address", "refused_address", "refused_hostname", "refused_url"]

Address = IPv4Address | IPv6Address

# Cloud metadata and instance services, named so that the refusal says what was hit. Most live in
# 169.254.0.0/16, which is refused as a whole; these are listed for the message.
_METADATA_V4: dict[IPv4Network, str] = {
    IPv4Network("169.254.169.254/32"): "the cloud metadata service (AWS, Azure, GCP, OCI, OpenStack…)",
    IPv4Network("169.254.169.253/32"): "AWS's DNS resolver",
    IPv4Network("169.254.169.123/32"): "AWS's time service",
    IPv4Network("169.254.170.2/32"): "the ECS task metadata service",
    IPv4Network("169.254.170.23/32"): "the EKS pod identity agent",
    IPv4Network("169.254.0.23/32"): "Tencent Cloud's metadata service",
    IPv4Network("100.100.100.200/32"): "Alibaba Cloud's metadata service",
    IPv4Network("168.63.129.16/32"): "Azure's WireServer",
    IPv4Network("192.0.0.192/32"): "Oracle Cloud's legacy metadata service",
}
_METADATA_V6: dict[IPv6Network, str] = {
    IPv6Network("fd00:ec2::/32"): "AWS's IPv6 instance services (metadata, DNS, time)",
    IPv6Network("fd20:ce::254/128"): "GCP's IPv6 metadata service",
}
_FORBIDDEN_V4: dict[IPv4Network, str] = {
    IPv4Network("0.0.0.0/8"): "unspecified ('this network')",
    IPv4Network("169.254.0.0/16"): "link-local",
    IPv4Network("224.0.0.0/4"): "multicast",
    IPv4Network("240.0.0.0/4"): "reserved or broadcast",
}
_FORBIDDEN_V6: dict[IPv6Network, str] = {
    IPv6Network("::/128"): "unspecified",
    IPv6Network("fe80::/10"): "link-local",
    IPv6Network("ff00::/8"): "multicast",
}
_METADATA_HOSTNAMES = {
    "metadata": "the cloud metadata service",
    "metadata.google.internal": "GCP's metadata service",
    "metadata.goog": "GCP's metadata service",
    "metadata.azure.internal": "Azure's metadata service",
    "instance-data": "AWS's metadata service",
    "instance-data.ec2.internal": "AWS's metadata service",
    "metadata.tencentyun.com": "Tencent Cloud's metadata service",
}
_COMPATIBLE = IPv6Network("::/96")  # IPv4-compatible (deprecated), with :: and ::1 inside
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))


def parse_address(text: str) -> Address | None:
    """The address a host string spells (brackets allowed; an IPv6 zone is dropped), else None."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries and may be routed to, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _TRANSLATED or any(ip in net for net in _NAT64):
        return low32
    if ip in _COMPATIBLE and int(ip) > 1:  # :: and ::1 are not IPv4 addresses
        return low32
    return None


def _refused_v4(ip: IPv4Address) -> str | None:
    for networks in (_METADATA_V4, _FORBIDDEN_V4):
        for network, reason in networks.items():
            if ip in network:
                return reason
    return None


def refused_address(address: Address | str) -> str | None:
    """Why an upstream may not be reached at this address (a short phrase), or None if it may.

    A string that is not an address is refused: the caller meant to pass one."""
    ip = parse_address(address) if isinstance(address, str) else address
    if ip is None:
        return f"not an IP address ({address!r})"
    if isinstance(ip, IPv4Address):
        return _refused_v4(ip)
    ip = IPv6Address(int(ip))  # drop a zone: the policy is about the address
    for networks in (_METADATA_V6, _FORBIDDEN_V6):
        for network, reason in networks.items():
            if ip in network:
                return reason
    inner = embedded_ipv4(ip)
    if inner is not None:
        carried = _refused_v4(inner)
        if carried is not None:
            return f"{carried}, as {inner} inside an IPv6 address"
    return None


def refused_hostname(host: str) -> str | None:
    """Why an upstream may not be reached under this name whatever it resolves to, or None.

    Only the metadata services' own names are refused by name; others are judged by address."""
    return _METADATA_HOSTNAMES.get(host.lower().rstrip("."))


def refused_url(url: str) -> str | None:
    """Why the server may not fetch from this URL (a short phrase), or None if it may: the form
    an operator-configured http(s) URL must have (a host, no user information, no fragment) and
    a host that is not a refused name or address. Used for a trusted token issuer's discovery
    document and keys; a name is judged again by its addresses when it is fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a well-formed URL"
    if parts.scheme not in ("http", "https"):
        return "not an http or https URL"
    host = parts.hostname
    if not host:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "user information in the URL"
    if parts.fragment:
        return "a fragment in the URL"
    if port == 0:
        return "port 0"
    named = refused_hostname(host)
    if named is not None:
        return named
    return refused_address(host) if parse_address(host) is not None else None
