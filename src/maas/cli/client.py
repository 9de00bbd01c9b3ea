"""The HTTP client for the commands that need no SDK entity (operator commands, `resource`,
`deployment group`, `role assignment`, `login`): base URL, token and CA bundle resolve as every
command's do (flag, then `MAAS_URL`/`MAAS_TOKEN`/`MAAS_CA_BUNDLE`, then `maas login`'s config).
Errors in the ARM envelope become one `ERROR: (Code) message` line on stderr and exit code 1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import typer

from maas.cli import config
from maas.cli.output import fail

API_VERSION = "2024-01-01-preview"


def error_line(response: httpx.Response) -> str:
    """`(Code) message`, with the error's target and details, from an ARM error response."""
    try:
        error = response.json()["error"]
        message = f"({error['code']}) {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"(HTTP {response.status_code}) {response.text[:500]}".rstrip()
    if error.get("target"):
        message += f" [target: {error['target']}]"
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            where = f" [target: {detail['target']}]" if detail.get("target") else ""
            message += f"; ({detail.get('code')}) {detail.get('message')}{where}"
    return message


class Client:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        try:
            profile = config.resolve(url=url, token=token)
        except config.ConfigError as exc:
            fail(str(exc), 2)
        self.url = profile.url
        if not profile.token:
            raise typer.BadParameter("no token: run `maas login`, pass --token or set MAAS_TOKEN")
        self.token = profile.token
        self.http = httpx.Client(
            base_url=self.url,
            verify=profile.verify,
            timeout=60,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def send(
        self, method: str, path: str, body: Any = None, *, api_version: str = API_VERSION
    ) -> httpx.Response:
        # httpx replaces a URL's query with `params` when both are given, even an empty one.
        params = None if "api-version=" in path else {"api-version": api_version}
        try:
            return self.http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            fail(f"cannot reach MaaS at {self.url}: {exc}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        api_version: str = API_VERSION,
        about: str | None = None,
    ) -> Any:
        """The answer's JSON; an error is one line (prefixed with `about`, e.g. the file the body
        came from) and exit code 1."""
        response = self.send(method, path, body, api_version=api_version)
        if response.status_code >= 400:
            fail(f"{about}: {error_line(response)}" if about else error_line(response))
        return response.json() if response.content else None

    def pages(self, path: str, *, api_version: str = API_VERSION) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following `nextLink`."""
        page: Any = self.request("GET", path, api_version=api_version)
        while True:
            yield from page.get("value", [])
            next_link = page.get("nextLink")
            if not next_link:
                return
            page = self.request("GET", next_link, api_version=api_version)

    def wait(self, response: httpx.Response, *, interval: float = 1.0) -> None:
        """Follow a 202's `Azure-AsyncOperation` (or `Location`) until the operation ends; a
        failed operation is an error."""
        status_url = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        if response.status_code != 202 or not (status_url or location):
            return
        while True:
            delay = float(response.headers.get("Retry-After") or interval)
            time.sleep(min(delay, 5.0))
            if status_url:
                response = self.send("GET", status_url)
                if response.status_code >= 400:
                    fail(error_line(response))
                body = response.json()
                status = str(body.get("status", ""))
                if status in ("Succeeded", "Failed", "Canceled"):
                    if status != "Succeeded":
                        error = body.get("error") or {}
                        message = error.get("message", f"The operation ended {status}.")
                        fail(f"({error.get('code', status)}) {message}")
                    return
            else:
                assert location is not None
                response = self.send("GET", location)
                if response.status_code >= 400:
                    fail(error_line(response))
                if response.status_code != 202:
                    return
