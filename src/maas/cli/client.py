"""The HTTP client the CLI's operator commands use: base URL, token and CA bundle from flags or
`MAAS_URL`, `MAAS_TOKEN`, `MAAS_CA_BUNDLE` (or `REQUESTS_CA_BUNDLE`). Errors in the ARM envelope
become one readable line and a non-zero exit."""

from __future__ import annotations

import os
from typing import Any

import httpx
import typer


class Client:
    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = (url or os.environ.get("MAAS_URL") or "http://127.0.0.1:8000").rstrip("/")
        self.token = token or os.environ.get("MAAS_TOKEN") or os.environ.get("MAAS_ADMIN_TOKEN")
        if not self.token:
            raise typer.BadParameter("no token: pass --token or set MAAS_TOKEN")
        ca = os.environ.get("MAAS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE")
        self.http = httpx.Client(
            base_url=self.url,
            verify=ca or True,
            timeout=60,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def request(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self.http.request(
                method, path, json=body, params={"api-version": "2024-01-01-preview"}
            )
        except httpx.HTTPError as exc:
            raise typer.BadParameter(f"cannot reach MaaS at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                message = f"({error['code']}) {error['message']}"
            except (ValueError, KeyError, TypeError):
                message = response.text[:500]
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(1)
        return response.json() if response.content else None
