"""The directory's rows: the installation's tenant id, users, service principals, client secrets.

A directory principal is a `principals` row (object id, name, type, enabled flag; no static
token) plus a row of `directory_users` or `service_principals`, written and removed together in
the caller's transaction. A user's `principals.name` is its user principal name, a service
principal's is its application id, so role assignments and `authenticate` see them as any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from maas.controlplane.domain.credentials import ClientSecret
from maas.controlplane.domain.directory import DirectoryUser, ExternalPrincipal, ServicePrincipal
from maas.controlplane.domain.resources import Principal, PrincipalType
from maas.controlplane.store import tables as t
from maas.core.clock import utcnow

__all__ = ["DirectoryRepository"]

TENANT = "tenantId"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class DirectoryRepository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    # -- tenant --------------------------------------------------------------------------------
    def tenant_id(self) -> str | None:
        query = select(t.installation.c.value).where(t.installation.c.name == TENANT)
        return self.c.execute(query).scalar()

    def add_tenant_id(self, tenant_id: str) -> None:
        """Keep the tenant id; a second writer fails on the primary key (IntegrityError)."""
        self.c.execute(insert(t.installation).values(name=TENANT, value=tenant_id))

    # -- principals ----------------------------------------------------------------------------
    def _add_principal(self, principal: Principal) -> None:
        self.c.execute(
            insert(t.principals).values(
                id=principal.id,
                name=principal.name,
                principal_type=str(principal.principal_type),
                token_digest=None,
                disabled=False,
                created_at=utcnow(),
            )
        )

    def token_digest(self, principal_id: str) -> str | None:
        query = select(t.principals.c.token_digest).where(t.principals.c.id == principal_id)
        return self.c.execute(query).scalar()

    def set_enabled(self, principal_id: str, enabled: bool) -> None:
        self.c.execute(
            update(t.principals).where(t.principals.c.id == principal_id).values(disabled=not enabled)
        )

    def _remove_principal(self, principal_id: str) -> None:
        self.c.execute(delete(t.principals).where(t.principals.c.id == principal_id))

    # -- users ---------------------------------------------------------------------------------
    _USER = (
        select(t.directory_users, t.principals.c.name, t.principals.c.disabled)
        .join(t.principals, t.principals.c.id == t.directory_users.c.principal_id)
        .order_by(t.directory_users.c.upn_key)
    )

    @staticmethod
    def _user(row: RowMapping) -> DirectoryUser:
        return DirectoryUser(
            principal=Principal(row["principal_id"], row["name"], PrincipalType.USER),
            user_principal_name=row["user_principal_name"],
            display_name=row["display_name"],
            password_hash=row["password_hash"],
            enabled=not row["disabled"],
            created_at=_aware(row["created_at"]),
            updated_at=_aware(row["updated_at"]),
        )

    def user(self, upn_or_id: str) -> DirectoryUser | None:
        table = t.directory_users
        query = self._USER.where((table.c.upn_key == upn_or_id.lower()) | (table.c.principal_id == upn_or_id))
        row = self.c.execute(query).mappings().first()
        return self._user(row) if row else None

    def users(self) -> list[DirectoryUser]:
        return [self._user(row) for row in self.c.execute(self._USER).mappings()]

    def add_user(self, principal: Principal, upn: str, display_name: str, password_hash: str | None) -> None:
        """A new user; `principal` is made with it unless it exists (the bootstrap admin's)."""
        if self.c.execute(select(t.principals.c.id).where(t.principals.c.id == principal.id)).first() is None:
            self._add_principal(principal)
        now = utcnow()
        self.c.execute(
            insert(t.directory_users).values(
                principal_id=principal.id,
                upn_key=upn.lower(),
                user_principal_name=upn,
                display_name=display_name,
                password_hash=password_hash,
                created_at=now,
                updated_at=now,
            )
        )

    def update_user(
        self, principal_id: str, *, display_name: str | None = None, password_hash: str | None = None
    ) -> None:
        values: dict[str, object] = {"updated_at": utcnow()}
        if display_name is not None:
            values["display_name"] = display_name
        if password_hash is not None:
            values["password_hash"] = password_hash
        table = t.directory_users
        self.c.execute(update(table).where(table.c.principal_id == principal_id).values(**values))

    def remove_user(self, principal_id: str) -> None:
        self.c.execute(delete(t.directory_users).where(t.directory_users.c.principal_id == principal_id))
        self._remove_principal(principal_id)

    # -- service principals --------------------------------------------------------------------
    _SP = (
        select(t.service_principals, t.principals.c.name, t.principals.c.disabled)
        .join(t.principals, t.principals.c.id == t.service_principals.c.principal_id)
        .order_by(t.service_principals.c.created_at, t.service_principals.c.app_id)
    )

    def _service_principal(self, row: RowMapping) -> ServicePrincipal:
        return ServicePrincipal(
            principal=Principal(row["principal_id"], row["name"], PrincipalType.SERVICE_PRINCIPAL),
            app_id=row["app_id"],
            display_name=row["display_name"],
            enabled=not row["disabled"],
            created_at=_aware(row["created_at"]),
            secrets=tuple(self.client_secrets(row["principal_id"])),
        )

    def service_principal(self, app_or_object_id: str) -> ServicePrincipal | None:
        table = t.service_principals
        wanted = app_or_object_id.lower()
        query = self._SP.where((table.c.app_id == wanted) | (table.c.principal_id == app_or_object_id))
        row = self.c.execute(query).mappings().first()
        return self._service_principal(row) if row else None

    def service_principals(self) -> list[ServicePrincipal]:
        return [self._service_principal(row) for row in self.c.execute(self._SP).mappings()]

    def add_service_principal(self, principal: Principal, app_id: str, display_name: str) -> None:
        self._add_principal(principal)
        self.c.execute(
            insert(t.service_principals).values(
                principal_id=principal.id,
                app_id=app_id.lower(),
                display_name=display_name,
                created_at=utcnow(),
            )
        )

    def rename_service_principal(self, principal_id: str, display_name: str) -> None:
        table = t.service_principals
        self.c.execute(
            update(table).where(table.c.principal_id == principal_id).values(display_name=display_name)
        )

    def remove_service_principal(self, principal_id: str) -> None:
        self.c.execute(delete(t.client_secrets).where(t.client_secrets.c.principal_id == principal_id))
        self.c.execute(
            delete(t.service_principals).where(t.service_principals.c.principal_id == principal_id)
        )
        self._remove_principal(principal_id)

    # -- external principals (a trusted issuer's, made at their first sign-in) -------------------
    _EXTERNAL = (
        select(t.external_principals, t.principals.c.principal_type, t.principals.c.disabled)
        .join(t.principals, t.principals.c.id == t.external_principals.c.principal_id)
        .order_by(t.external_principals.c.created_at, t.external_principals.c.principal_id)
    )

    @staticmethod
    def _external(row: RowMapping) -> ExternalPrincipal:
        kind = PrincipalType(row["principal_type"])
        return ExternalPrincipal(
            principal=Principal(row["principal_id"], row["principal_id"], kind),
            issuer=row["issuer"],
            enabled=not row["disabled"],
            display_name=row["display_name"],
            user_principal_name=row["user_principal_name"],
            app_id=row["app_id"],
            tenant_id=row["tenant_id"],
            created_at=_aware(row["created_at"]),
            updated_at=_aware(row["updated_at"]),
        )

    def external_principal(self, principal_id: str) -> ExternalPrincipal | None:
        query = self._EXTERNAL.where(t.external_principals.c.principal_id == principal_id)
        row = self.c.execute(query).mappings().first()
        return self._external(row) if row else None

    def external_principals(self, kind: PrincipalType) -> list[ExternalPrincipal]:
        query = self._EXTERNAL.where(t.principals.c.principal_type == str(kind))
        return [self._external(row) for row in self.c.execute(query).mappings()]

    def add_external_principal(self, found: ExternalPrincipal) -> None:
        """The principal row (its name is its object id: user names from another directory
        need not be unique here) and the external record, in the caller's transaction."""
        self._add_principal(found.principal)
        self.c.execute(
            insert(t.external_principals).values(
                principal_id=found.principal.id,
                issuer=found.issuer,
                display_name=found.display_name,
                user_principal_name=found.user_principal_name,
                app_id=found.app_id,
                tenant_id=found.tenant_id,
                created_at=found.created_at,
                updated_at=found.updated_at,
            )
        )

    def update_external_profile(
        self, principal_id: str, display_name: str, user_principal_name: str | None, app_id: str | None
    ) -> None:
        table = t.external_principals
        self.c.execute(
            update(table)
            .where(table.c.principal_id == principal_id)
            .values(
                display_name=display_name,
                user_principal_name=user_principal_name,
                app_id=app_id,
                updated_at=utcnow(),
            )
        )

    def remove_external_principal(self, principal_id: str) -> None:
        table = t.external_principals
        self.c.execute(delete(table).where(table.c.principal_id == principal_id))
        self._remove_principal(principal_id)

    # -- client secrets ------------------------------------------------------------------------
    def client_secrets(self, principal_id: str) -> list[ClientSecret]:
        table = t.client_secrets
        query = (
            select(table)
            .where(table.c.principal_id == principal_id)
            .order_by(table.c.start_at, table.c.key_id)
        )
        return [
            ClientSecret(
                key_id=row["key_id"],
                principal_id=row["principal_id"],
                display_name=row["display_name"],
                hint=row["hint"],
                secret_hash=row["secret_hash"],
                start=_aware(row["start_at"]),
                end=_aware(row["end_at"]),
            )
            for row in self.c.execute(query).mappings()
        ]

    def add_client_secret(self, secret: ClientSecret) -> None:
        self.c.execute(
            insert(t.client_secrets).values(
                key_id=secret.key_id,
                principal_id=secret.principal_id,
                display_name=secret.display_name,
                hint=secret.hint,
                secret_hash=secret.secret_hash,
                start_at=secret.start,
                end_at=secret.end,
            )
        )

    def remove_client_secrets(self, principal_id: str) -> None:
        self.c.execute(delete(t.client_secrets).where(t.client_secrets.c.principal_id == principal_id))
