"""Request dependencies: the database handle, the caller and their role, paging."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request, Response, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from data.lifecycle_db import Database
from models.api import Actor, Page, Role
from models.enums import Channel
from models.lifecycle_errors import FieldError, Forbidden, InvalidInput
from services import admin
from services.common import Idempotency

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key.")

# The channel an action is recorded under when the caller does not say.
DEFAULT_CHANNEL: dict[Role, str | None] = {
    Role.CUSTOMER_SERVICE: Channel.CALL_CENTER.value,
    Role.NODE: Channel.STORE.value,
}


def get_db(request: Request) -> Database:
    return request.app.state.db


DB = Annotated[Database, Depends(get_db)]


def allow(*roles: Role) -> Callable[..., Actor]:
    """Dependency: the caller, if their key's role is one of ``roles`` (admins always)."""

    def caller(
        request: Request,
        key: Annotated[str | None, Security(api_key_header)] = None,
        # Not nullable in the schema: absent means "the role's default channel".
        x_channel: Annotated[Channel, Header(description="Channel the caller acts from.")] = None,  # type: ignore[assignment]
    ) -> Actor:
        actor = admin.authenticate(get_db(request), key)
        if actor.role is not Role.ADMIN and actor.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"role '{actor.role.value}' may not do this (needs: {allowed})")
        channel = x_channel.value if x_channel else DEFAULT_CHANNEL.get(actor.role)
        return actor.model_copy(update={"channel": channel})

    return caller


READERS = (Role.CHANNEL, Role.CUSTOMER_SERVICE, Role.SCHEDULER, Role.MERCHANDISER, Role.ANALYST)


def paged(page: Page, request: Request, response: Response) -> Page:
    """Fill ``links`` (self, next) and the Link header from the page's cursor."""
    page.links = {"self": str(request.url)}
    if page.next_cursor:
        nxt = str(request.url.include_query_params(cursor=page.next_cursor))
        page.links["next"] = nxt
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    return page


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe key: the same key and body give the first response again.",
    ),
]


# Every resource id in a path or query: the one pattern the store's ids match.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
Id = Annotated[str, Path(pattern=ID_PATTERN)]
IdQuery = Annotated[str | None, Query(pattern=ID_PATTERN)]
Cursor = Annotated[str | None, Query(max_length=400, pattern=r"^[A-Za-z0-9_-]*$")]


def bad(field: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(field, message)])


def creating(actor: Actor, route: str, key: str | None, body: BaseModel) -> Idempotency | None:
    """The Idempotency-Key of a create (answered 201) by this caller on this route."""
    return Idempotency.of(f"{actor.scope}:{route}", key, body, 201)
