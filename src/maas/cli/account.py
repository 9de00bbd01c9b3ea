"""`maas login|logout`, `maas account set|show` and `maas configure`: what `az login`,
`az account set` and `az configure --defaults` do, stored in the CLI's config file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from maas.cli import config
from maas.cli.connection import Connection, connected
from maas.cli.errors import sdk_errors
from maas.cli.options import Output, SubOpt, UrlOpt
from maas.cli.output import emit, fail, printed, required
from maas.sdk import HttpResponseError

KEYS_HELP = ", ".join(key + "=…" for key in config.DEFAULT_KEYS)
account_app = typer.Typer(help="The account (subscription) commands use by default.", no_args_is_help=True)


def _load() -> dict[str, Any]:
    try:
        return config.load()
    except config.ConfigError as exc:
        fail(str(exc), 2)


def login(
    url: UrlOpt = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Bearer token (prompted for when not given).")
    ] = None,
) -> None:
    """Sign in to a MaaS server: check the token, store it with the URL and print the accounts
    (subscriptions) it can see, as `az login` does."""
    # Its own --url/--token (not `@connected`'s): the token is what it stores, prompted for.
    url = config.resolve(url=url).url
    if not token:
        token = typer.prompt("Token", hide_input=True)
    with Connection.opened(url, token) as connection, sdk_errors():
        accounts = list(connection.arm().list("/subscriptions"))
    data = _load()
    data.update({"url": url, "token": token})
    path = config.save(data)
    typer.echo(f"Logged in to {url} (config in {path}).", err=True)
    if not accounts:
        typer.echo(
            "No accounts on this server yet. An operator creates one with `maas account create "
            "--subscription ID --payment-method CreditCard`; then `maas account set --subscription ID`.",
            err=True,
        )
    emit([_login_entry(account, data.get("subscription")) for account in accounts])


def _login_entry(account: dict[str, Any], current: Any) -> dict[str, Any]:
    """An account as `az login` lists a subscription: its id, name, state and whether commands
    use it by default."""
    sub = account.get("subscriptionId") or str(account.get("id", "")).rsplit("/", 1)[-1]
    return {
        "id": sub,
        "name": account.get("displayName") or sub,
        "state": account.get("state"),
        "isDefault": bool(current) and str(current).lower() == str(sub).lower(),
    }


def logout() -> None:
    """Forget the stored token."""
    data = _load()
    if data.pop("token", None) is None:
        typer.echo("Not logged in.", err=True)
        return
    config.save(data)
    typer.echo("Logged out.", err=True)


@account_app.command("set")
@connected
def account_set(
    connection: Connection,
    subscription: Annotated[str, typer.Option("--subscription", "-s", help="Account (subscription) id.")],
) -> None:
    """Use this account by default."""
    found = connection.arm().request("GET", f"/subscriptions/{subscription}")
    data = _load()
    data["subscription"] = found.get("subscriptionId") or subscription
    config.save(data)


PaymentOpt = Annotated[
    str | None,
    typer.Option("--payment-method", help="CreditCard, Invoice or None (paid offers need one)."),
]
OfferTypeOpt = Annotated[
    str | None, typer.Option("--offer-type", help="PayAsYouGo (default), FreeTrial or Free.")
]


def _put_account(
    connection: Connection, subscription: str, payment: str | None, offer_type: str | None, name: str | None
) -> Any:
    client = connection.arm()
    path = f"/subscriptions/{subscription}"
    current: dict[str, Any] = {}
    if payment is None or offer_type is None:  # an update keeps what it does not change
        try:
            current = client.request("GET", path) or {}
        except HttpResponseError:
            current = {}
    billing = dict((current.get("properties") or {}).get("billingProfile") or {})
    if payment is not None:
        billing["paymentMethod"] = payment
    if offer_type is not None:
        billing["offerType"] = offer_type
    body: dict[str, Any] = {"properties": {"billingProfile": billing}}
    display = name or current.get("displayName")
    if display:
        body["displayName"] = display
    return client.request("PUT", path, body)


@account_app.command("create")
@connected
@printed
def account_create(
    connection: Connection,
    subscription: Annotated[str, typer.Option("--subscription", "-s", help="Account (subscription) id.")],
    payment_method: PaymentOpt = None,
    offer_type: OfferTypeOpt = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="A readable name.")] = None,
) -> Any:
    """Operator: create an account (subscription) with its billing profile."""
    return _put_account(connection, subscription, payment_method, offer_type, display_name)


@account_app.command("update")
@connected
@printed
def account_update(
    connection: Connection,
    subscription: SubOpt = None,
    payment_method: PaymentOpt = None,
    offer_type: OfferTypeOpt = None,
) -> Any:
    """Change the account's billing profile. Removing the payment method (`--payment-method None`)
    suspends its paid subscriptions and endpoints until one is back."""
    subscription = required(
        subscription or connection.profile.subscription,
        "no account: pass --subscription or run `maas account set`",
    )
    return _put_account(connection, subscription, payment_method, offer_type, None)


@account_app.command("show")
@connected
@printed
def account_show(connection: Connection, subscription: SubOpt = None) -> Any:
    """The account commands use: its id, state and the server it lives on."""
    subscription = required(
        subscription or connection.profile.subscription,
        "no account set: run `maas account set --subscription ID`",
    )
    found = connection.arm().request("GET", f"/subscriptions/{subscription}")
    return {**found, "url": connection.profile.url}


def configure(
    pairs: Annotated[
        list[str] | None,
        typer.Argument(
            help="name=value pairs after --defaults: workspace, group, location.", show_default=False
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option("--defaults", "-d", help="Set defaults: workspace=… group=… location=… (empty clears)."),
    ] = False,
    list_defaults: Annotated[bool, typer.Option("--list-defaults", "-l", help="Show the defaults.")] = False,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = "json",
) -> None:
    """Set or show defaults for -w/--workspace-name, -g/--resource-group and the location."""
    data = _load()
    stored: dict[str, str] = dict(data.get("defaults") or {})
    if pairs and not defaults:
        fail("give the values after --defaults, e.g. --defaults workspace=ws group=rg", 2)
    if defaults:
        if not pairs:
            fail("--defaults takes name=value pairs, e.g. --defaults workspace=ws group=rg", 2)
        updates: dict[str, str] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep or name not in config.DEFAULT_KEYS:
                fail(
                    f"--defaults: expected one of {KEYS_HELP}, got {pair!r}",
                    2,
                )
            updates[name] = value
        for name, value in updates.items():
            if value:
                stored[name] = value
            else:
                stored.pop(name, None)
        data["defaults"] = stored
        config.save(data)
    if list_defaults or not defaults:
        emit([{"name": k, "value": v} for k, v in stored.items()], output)
