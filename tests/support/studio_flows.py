"""Steps the Studio page suites share (test_studio_resource_groups.py, _connections.py,
_costs.py): choosing the workspace as a person does, and signing in as a user with one role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.api import Api, World
from support.studio import csrf_of, sign_in

USERS = "/providers/Microsoft.MaaS/users"
PASSWORD = "correct horse battery"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"

__all__ = ["CONTRIBUTOR", "PASSWORD", "READER", "choose_workspace", "user_with_role"]


def choose_workspace(client: TestClient, world: World, next_path: str = "/studio") -> None:
    """Pick `world`'s workspace in the picker (Studio remembers it for the signed-in user)."""
    picker = client.get(f"/studio/workspace?sub={world.sub}&rg={world.rg}&next={next_path}")
    assert picker.status_code == 200, picker.text
    answer = client.post(
        "/studio/workspace",
        data={
            "csrf_token": csrf_of(picker.text),
            "sub": world.sub,
            "rg": world.rg,
            "name": world.ws,
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def user_with_role(api: Api, client: TestClient, upn: str, role: str | None, scope: str = "") -> str:
    """Create user `upn`, give it `role` at `scope` (none: no role at all), and sign the client in
    as that user (the admin's cookies are dropped). Returns the user's object id."""
    body = {"properties": {"displayName": upn.split("@")[0], "passwordProfile": {"password": PASSWORD}}}
    object_id: str = api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"]
    if role is not None:
        api.ok(api.assign(scope, object_id, role), 201)
    client.cookies.clear()
    sign_in(client, upn, PASSWORD)
    return object_id
