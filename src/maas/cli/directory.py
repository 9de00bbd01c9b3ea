"""`maas ad user …` and `maas ad sp …` (`az ad`): the directory's users and service principals,
over `/providers/Microsoft.MaaS/users` and `/servicePrincipals` through the SDK's `ArmClient`.

Output follows az's Graph shapes: a user is `{id, userPrincipalName, displayName,
accountEnabled}`; `sp create-for-rbac` and `sp credential reset` print `{appId, displayName,
password, tenant}` with the password shown this once. A principal of a trusted external issuer
(found by its object id) adds `issuer`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.output import fail, printed
from maas.cli.role_definitions import API_VERSION as RBAC_API_VERSION
from maas.cli.role_definitions import find_role
from maas.cli.roles import RA
from maas.sdk import ArmClient, HttpResponseError

ad_app = typer.Typer(help="The directory: users and service principals (az ad).", no_args_is_help=True)
user_app = typer.Typer(help="Users who sign in with a password.", no_args_is_help=True)
sp_app = typer.Typer(
    help="Service principals: applications that sign in with a secret.", no_args_is_help=True
)
credential_app = typer.Typer(help="A service principal's client secrets.", no_args_is_help=True)
ad_app.add_typer(user_app, name="user")
ad_app.add_typer(sp_app, name="sp")
sp_app.add_typer(credential_app, name="credential")

USERS = "/providers/Microsoft.MaaS/users"
SPS = "/providers/Microsoft.MaaS/servicePrincipals"
IdOpt = Annotated[str, typer.Option("--id", help="The user principal name or object id.")]
AppIdOpt = Annotated[str, typer.Option("--id", help="The application id (or object id).")]
YearsOpt = Annotated[int, typer.Option("--years", min=1, max=100, help="Years the secret is valid.")]


def _external(props: dict[str, Any]) -> dict[str, Any]:
    """`issuer` for a principal of a trusted external issuer (it signs in there); nothing else."""
    return {"issuer": props["issuer"]} if props.get("issuer") else {}


def _user(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource["properties"]
    return {
        "accountEnabled": props["accountEnabled"],
        "displayName": props["displayName"],
        "id": props["principalId"],
        "userPrincipalName": props["userPrincipalName"],
        **_external(props),
    }


def _sp(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource["properties"]
    return {
        "accountEnabled": props["accountEnabled"],
        "appId": props["appId"],
        "appOwnerOrganizationId": props["appOwnerOrganizationId"],
        "displayName": props["displayName"],
        "id": props["principalId"],
        "passwordCredentials": props["passwordCredentials"],
        "servicePrincipalType": "Application",
        **_external(props),
    }


def _exists(client: ArmClient, path: str) -> bool:
    try:
        client.request("GET", path)
    except HttpResponseError as error:
        if error.status_code == 404:
            return False
        raise
    return True


# -- users -------------------------------------------------------------------------------------
@user_app.command("create")
@connected
@printed
def user_create(
    connection: Connection,
    display_name: Annotated[str, typer.Option("--display-name", help="The user's name, shown.")],
    password: Annotated[str, typer.Option("--password", help="At least 8 characters.")],
    user_principal_name: Annotated[
        str, typer.Option("--user-principal-name", help="The sign-in name, e.g. alice@contoso.example.")
    ],
) -> Any:
    """Create a user."""
    client = connection.arm()
    path = f"{USERS}/{user_principal_name}"
    if _exists(client, path):
        fail("Another object with the same value for property userPrincipalName already exists.")
    body = {"properties": {"displayName": display_name, "passwordProfile": {"password": password}}}
    return _user(client.request("PUT", path, body))


@user_app.command("list")
@connected
@printed
def user_list(connection: Connection) -> Any:
    """Every user of the tenant."""
    return [_user(item) for item in connection.arm().list(USERS)]


@user_app.command("show")
@connected
@printed
def user_show(connection: Connection, user: IdOpt) -> Any:
    """One user."""
    return _user(connection.arm().request("GET", f"{USERS}/{user}"))


@user_app.command("update")
@connected
def user_update(
    connection: Connection,
    user: IdOpt,
    password: Annotated[str | None, typer.Option("--password", help="A new password.")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="A new display name.")] = None,
    account_enabled: Annotated[
        str | None,
        typer.Option(
            "--account-enabled", help="true or false; false disables the user: its tokens stop at once."
        ),
    ] = None,
) -> None:
    """Change a user's password, display name or whether it may sign in."""
    properties: dict[str, Any] = {}
    if password is not None:
        properties["passwordProfile"] = {"password": password}
    if display_name is not None:
        properties["displayName"] = display_name
    if account_enabled is not None:
        if account_enabled.lower() not in ("true", "false"):
            fail("usage error: --account-enabled takes true or false", 2)
        properties["accountEnabled"] = account_enabled.lower() == "true"
    client = connection.arm()
    path = f"{USERS}/{user}"
    if not _exists(client, path):  # a PUT would create it
        fail(
            f"Resource '{user}' does not exist or one of its queried reference-property objects "
            "are not present."
        )
    client.request("PUT", path, {"properties": properties})


@user_app.command("delete")
@connected
def user_delete(connection: Connection, user: IdOpt) -> None:
    """Delete a user."""
    connection.arm().request("DELETE", f"{USERS}/{user}")


# -- service principals ------------------------------------------------------------------------
def _add_password(client: ArmClient, app_id: str, years: int, replace: bool) -> dict[str, Any]:
    end = datetime.now(UTC) + timedelta(days=365 * years)
    body = {"endDateTime": end.isoformat(), "replaceExisting": replace, "displayName": "rbac"}
    return client.request("POST", f"{SPS}/{app_id}/addPassword", body) or {}


@sp_app.command("create-for-rbac")
@connected
@printed
def create_for_rbac(
    connection: Connection,
    name: Annotated[str, typer.Option("--name", "-n", help="The display name (an existing one is reused).")],
    role: Annotated[str | None, typer.Option("--role", help="A role to assign, e.g. Contributor.")] = None,
    scopes: Annotated[
        list[str] | None, typer.Option("--scopes", help="Where the role applies (repeat for several).")
    ] = None,
    years: YearsOpt = 1,
) -> Any:
    """Create a service principal (or reuse the one with this name) and a new secret, and assign
    it a role at the scopes given; prints appId, password and tenant."""
    if role and not scopes:
        fail("usage error: --scopes is required with --role", 2)
    client = connection.arm()
    existing = [sp for sp in client.list(SPS) if sp["properties"]["displayName"] == name]
    if existing:
        sp = existing[0]
    else:
        sp = client.request("PUT", f"{SPS}/{uuid.uuid4()}", {"properties": {"displayName": name}})
    props = sp["properties"]
    secret = _add_password(client, props["appId"], years, replace=bool(existing))
    if role:
        for scope in scopes or []:
            where = "" if scope.strip("/") == "" else "/" + scope.strip("/")
            definition = find_role(client, role, where or "/")  # custom roles show at their scopes
            body = {"properties": {"roleDefinitionId": definition["id"], "principalId": props["principalId"]}}
            try:
                client.request("PUT", f"{where}{RA}/{uuid.uuid4()}", body, api_version=RBAC_API_VERSION)
            except HttpResponseError as error:
                if error.status_code != 409:  # already assigned: as az, carry on
                    raise
    return {
        "appId": props["appId"],
        "displayName": props["displayName"],
        "password": secret["secretText"],
        "tenant": props["appOwnerOrganizationId"],
    }


@sp_app.command("list")
@connected
@printed
def sp_list(connection: Connection) -> Any:
    """Every service principal of the tenant."""
    return [_sp(item) for item in connection.arm().list(SPS)]


@sp_app.command("show")
@connected
@printed
def sp_show(connection: Connection, app_id: AppIdOpt) -> Any:
    """One service principal (its secrets' hints, never their text)."""
    return _sp(connection.arm().request("GET", f"{SPS}/{app_id}"))


@sp_app.command("delete")
@connected
def sp_delete(connection: Connection, app_id: AppIdOpt) -> None:
    """Delete a service principal and its secrets."""
    connection.arm().request("DELETE", f"{SPS}/{app_id}")


@credential_app.command("reset")
@connected
@printed
def credential_reset(
    connection: Connection,
    app_id: AppIdOpt,
    append: Annotated[bool, typer.Option("--append", help="Keep the existing secrets.")] = False,
    years: YearsOpt = 1,
) -> Any:
    """A new client secret, replacing the others unless --append; prints it this once."""
    client = connection.arm()
    sp = client.request("GET", f"{SPS}/{app_id}")
    props = sp["properties"]
    secret = _add_password(client, props["appId"], years, replace=not append)
    return {
        "appId": props["appId"],
        "password": secret["secretText"],
        "tenant": props["appOwnerOrganizationId"],
    }
