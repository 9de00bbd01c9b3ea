"""No token or password in the logs (issue 13): a real `maas serve` at its most verbose
(`--log-level debug --access-log`) goes through a whole flow, and afterwards its log, the
activity log's API answer and the activity log's stored rows are searched for every secret value
the flow saw: the admin token, passwords (right and wrong), client secrets (right and wrong), a
static principal token, authorization codes, the PKCE verifier, access, refresh and ID tokens,
the sign-in page's cookies, endpoint keys (right and wrong) and an upstream's API key. A leak
fails the test naming the secret and the line it was found on (with the value masked).

The flow: the admin builds a world; a user with a password signs in through the sign-in page
(a wrong password first), redeems the code, refreshes, signs in again by single sign-on and
signs out (sending `id_token_hint`, as some clients do); a service principal gets a client
secret and client-credentials tokens (secret in the body, in HTTP Basic, and a wrong one); the
user subscribes and deploys an endpoint, lists its keys and chats with each key; then a wrong
key, and a "keyless" call carrying the user's access token to the Target URI.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import httpx

from support.api import MODEL, Api, World
from support.fake_upstream import fake_upstream
from support.server import running_server
from support.signin_page import read_page

TOKEN = "logs-admin-token-" + secrets.token_hex(12)
ENV = {"MAAS_LOG_LEVEL": "debug", "MAAS_ACCESS_LOG": "true", "MAAS_DEFAULT_MODELS": "false"}
CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
REDIRECT = "http://localhost:8400"
SCOPE = "https://management.azure.com/.default offline_access openid profile"
VALUES = "/providers/Microsoft.Insights/eventtypes/management/values"
DEPLOY_TIMEOUT_S = 60.0
MIN_SECRET = 8  # every value checked is at least this long, so a match is no coincidence


@dataclass
class Seen:
    """Every secret value the flow handled, by what it is."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, what: str, value: str) -> str:
        assert len(value) >= MIN_SECRET, f"{what} is too short to search for: {value!r}"
        self.values[what] = value
        return value

    def leaks(self, where: str, text: str) -> list[str]:
        found = []
        for what, value in self.values.items():
            forms = {value, quote(value, safe=""), quote_plus(value)}  # as sent, or URL-encoded
            for number, line in enumerate(text.splitlines(), 1):
                for form in forms:
                    if form in line:
                        shown = line.replace(form, f"<{what}>")[:300]
                        found.append(f"{what} in {where} line {number}: {shown}")
        return found


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorize_params(challenge: str) -> dict[str, str]:
    return {
        "client_id": CLI,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "response_mode": "query",
    }


def _code_of(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def _wait(api: Api, started: httpx.Response) -> None:
    """Follow an Azure-AsyncOperation URL (absolute, on the real server) until it is terminal."""
    url = started.headers["Azure-AsyncOperation"]
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        status = api.ok(api.client.get(url, headers={"Authorization": f"Bearer {api.token}"}), 200)
        if status["status"] != "InProgress":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["status"] == "Succeeded", status


def _sign_in_as_user(http: httpx.Client, base: str, tenant: str, upn: str, password: str, seen: Seen) -> None:
    """The page (a wrong password, then the right one), the code, refresh, SSO and sign-out."""
    token_url = f"/{tenant}/oauth2/v2.0/token"
    authorize = f"/{tenant}/oauth2/v2.0/authorize"
    with httpx.Client(base_url=base, timeout=30) as browser:
        verifier, challenge = _pkce()
        seen.add("PKCE verifier", verifier)
        page = browser.get(authorize, params=_authorize_params(challenge))
        form = read_page(page.text)
        seen.add("browser cookie", browser.cookies["maas_browser"])
        wrong = browser.post(
            form.action,
            data=form.fields | {"username": upn, "password": seen.add("wrong password", "not-" + password)},
        )
        assert wrong.status_code == 400
        form = read_page(wrong.text)
        signed_in = browser.post(form.action, data=form.fields | {"username": upn, "password": password})
        code = seen.add("authorization code", _code_of(signed_in))
        seen.add("session cookie", browser.cookies["maas_session"])
        redeem = {
            "grant_type": "authorization_code",
            "client_id": CLI,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "scope": SCOPE,
        }
        issued = http.post(token_url, data=redeem).json()
        seen.add("user access token", issued["access_token"])
        seen.add("ID token", issued["id_token"])
        refresh = {"grant_type": "refresh_token", "client_id": CLI, "scope": SCOPE}
        renewed = http.post(
            token_url, data=refresh | {"refresh_token": seen.add("refresh token", issued["refresh_token"])}
        ).json()
        seen.add("refreshed access token", renewed["access_token"])
        seen.add("second refresh token", renewed["refresh_token"])
        # the used refresh token again (refused) must not be logged either
        assert (
            http.post(token_url, data=refresh | {"refresh_token": issued["refresh_token"]}).status_code == 400
        )
        # single sign-on: a second code without the page
        verifier2, challenge2 = _pkce()
        seen.add("second PKCE verifier", verifier2)
        code2 = seen.add(
            "SSO authorization code", _code_of(browser.get(authorize, params=_authorize_params(challenge2)))
        )
        sso = http.post(token_url, data=redeem | {"code": code2, "code_verifier": verifier2}).json()
        seen.add("SSO access token", sso["access_token"])
        seen.add("SSO refresh token", sso["refresh_token"])
        out = browser.get(
            f"/{tenant}/oauth2/v2.0/logout",
            params={
                "post_logout_redirect_uri": REDIRECT,
                "id_token_hint": issued["id_token"],
                "state": "out-1",
            },
        )
        assert out.status_code == 302, out.text


def test_no_secret_reaches_the_server_log_or_the_activity_log(tmp_path: Path) -> None:
    seen = Seen()
    seen.add("admin token", TOKEN)
    started = datetime.now(UTC) - timedelta(minutes=5)
    with (
        fake_upstream() as upstream,
        running_server(tmp_path / "data", token=TOKEN, extra_env=ENV) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        admin = Api(http, TOKEN)  # type: ignore[arg-type]
        world = admin.world(World(sub=str(uuid.uuid4())))
        artifact = {
            "kind": "openai-upstream",
            "url": upstream.url,
            "upstreamModel": "up-model",
            "apiKey": seen.add("upstream API key", "sk-upstream-" + secrets.token_hex(16)),
        }
        admin.ok(
            admin.put(MODEL.removeprefix("azureml:/") + "/versions/1", {"properties": {"artifact": artifact}})
        )
        tenant = str(admin.ok(admin.get("/tenants"))["value"][0]["tenantId"])
        scope = world.sub_path

        # a user with a password, Contributor at the subscription, signs in through the page
        upn, password = "erin@contoso.example", seen.add("user password", "pw-" + secrets.token_hex(12))
        user = admin.ok(
            admin.put(
                f"/providers/Microsoft.MaaS/users/{upn}",
                {"properties": {"displayName": "Erin", "passwordProfile": {"password": password}}},
            )
        )
        admin.ok(admin.assign(scope, user["properties"]["principalId"], CONTRIBUTOR), 201)
        _sign_in_as_user(http, server.url, tenant, upn, password, seen)

        # a service principal with a client secret: client_credentials in the body and in Basic
        app_id = str(uuid.uuid4())
        sps = "/providers/Microsoft.MaaS/servicePrincipals"
        sp = admin.ok(admin.put(f"{sps}/{app_id}", {"properties": {"displayName": "log-bot"}}))
        secret = seen.add(
            "client secret", admin.ok(admin.post(f"{sps}/{app_id}/addPassword", {}))["secretText"]
        )
        admin.ok(admin.assign(scope, sp["properties"]["principalId"], CONTRIBUTOR), 201)
        grant = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "scope": "https://management.azure.com/.default",
        }
        token_url = f"/{tenant}/oauth2/v2.0/token"
        seen.add(
            "SP access token",
            http.post(token_url, data=grant | {"client_secret": secret}).json()["access_token"],
        )
        basic = http.post(token_url, data=grant, auth=(app_id, secret))
        seen.add("SP access token (Basic)", basic.json()["access_token"])
        wrong_secret = seen.add("wrong client secret", "wrong-" + secret)
        assert http.post(token_url, data=grant | {"client_secret": wrong_secret}).status_code == 401

        # a static principal token, used once
        _, static = admin.principal("log-static")
        seen.add("static principal token", static)
        http.get("/subscriptions", headers={"Authorization": f"Bearer {static}"})

        # the user (with a fresh token) subscribes, deploys, lists keys; chats with each key
        as_user = admin.as_token(_user_token(http, server.url, tenant, upn, password, seen))
        subscribed = as_user.subscribe(world)
        assert subscribed.status_code in (200, 201), subscribed.text
        created = as_user.create_endpoint(world, "log-chat")
        assert created.status_code == 201, created.text
        _wait(as_user, created)
        uri = as_user.ok(as_user.get(world.endpoint("log-chat")))["properties"]["inferenceEndpoint"]["uri"]
        keys = as_user.ok(as_user.post(world.endpoint("log-chat") + "/listKeys"))
        seen.add("primary endpoint key", keys["primaryKey"])
        seen.add("secondary endpoint key", keys["secondaryKey"])
        chat = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}
        for headers in ({"api-key": keys["primaryKey"]}, {"Authorization": f"Bearer {keys['secondaryKey']}"}):
            answer = http.post(f"{uri}/chat/completions", json=chat, headers=headers)
            assert answer.status_code == 200, answer.text
        wrong_key = seen.add("wrong endpoint key", secrets.token_hex(32))
        assert (
            http.post(f"{uri}/chat/completions", json=chat, headers={"api-key": wrong_key}).status_code == 401
        )
        # "keyless": an Entra access token where the key goes; and a key in the query string
        keyless = http.post(
            f"{uri}/chat/completions", json=chat, headers={"Authorization": f"Bearer {as_user.token}"}
        )
        assert keyless.status_code in (200, 401, 403), keyless.text
        http.post(f"{uri}/chat/completions", json=chat, params={"api-key": keys["primaryKey"]})

        # what the activity log's API shows for the subscription
        since = started.strftime("%Y-%m-%dT%H:%M:%SZ")
        events = admin.get(
            scope + VALUES, params={"$filter": f"eventTimestamp ge '{since}'", "api-version": "2015-04-01"}
        )
        assert events.status_code == 200, events.text
        activity_api = events.text
        assert "serverlessEndpoints/log-chat" in activity_api  # it lists the flow's events
    log = server.log.read_text(errors="replace") if server.log else ""
    assert "GET /health" in log and "chat/completions" in log, "the access log is not on:\n" + log[-3000:]
    rows = _activity_rows(tmp_path / "data" / "maas.db")
    assert upn in rows  # the store does hold the sign-ins, so searching it means something
    leaks = seen.leaks("the server log", log) + seen.leaks("the activity log API", activity_api)
    leaks += seen.leaks("the activity_log table", rows)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def _user_token(http: httpx.Client, base: str, tenant: str, upn: str, password: str, seen: Seen) -> str:
    """A new sign-in's access token (the page again, in a new browser)."""
    with httpx.Client(base_url=base, timeout=30) as browser:
        verifier, challenge = _pkce()
        seen.add("third PKCE verifier", verifier)
        form = read_page(
            browser.get(f"/{tenant}/oauth2/v2.0/authorize", params=_authorize_params(challenge)).text
        )
        code = seen.add(
            "third authorization code",
            _code_of(browser.post(form.action, data=form.fields | {"username": upn, "password": password})),
        )
        seen.add("second session cookie", browser.cookies["maas_session"])
        redeem = {
            "grant_type": "authorization_code",
            "client_id": CLI,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "scope": SCOPE,
        }
        issued = http.post(f"/{tenant}/oauth2/v2.0/token", data=redeem).json()
        seen.add("third refresh token", issued["refresh_token"])
        return seen.add("user access token for the deployment", issued["access_token"])


def _activity_rows(database: Path) -> str:
    """Every row of the activity_log table, as text."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT * FROM activity_log").fetchall()
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def test_a_generated_admin_token_is_shown_once_on_its_first_start_and_never_logged(tmp_path: Path) -> None:
    """Without MAAS_ADMIN_TOKEN the first start makes one and shows it once, on the banner line
    that says so (the operator signs in with it); no log record and no later start shows it."""
    with running_server(tmp_path / "data", token=None, extra_env=ENV) as server:
        with server.client() as http:
            assert http.get("/subscriptions").status_code == 200  # the token in the file works
        token = server.token
    assert server.log is not None
    lines = server.log.read_text(errors="replace").splitlines()
    showing = [line for line in lines if token in line]
    assert showing == [f"  admin token:    {token}"], showing
    assert str(tmp_path / "data" / "admin-token") in "\n".join(lines)
    with running_server(tmp_path / "data", token=None, extra_env=ENV) as again, again.client() as http:
        assert http.get("/subscriptions").status_code == 200
    assert again.log is not None
    seen = Seen()
    seen.add("generated admin token", token)
    assert not seen.leaks("the second start's log", again.log.read_text(errors="replace"))
