"""``POST /promise`` for the well-formed request of an authorised caller, in ASGI.

Sales channels call this route thousands of times a second, and the promise
itself takes a quarter of a millisecond; FastAPI's per-request machinery
(request object, dependency solving, body model field, exception and
telemetry middleware) cost twice that again. This middleware answers the
common case itself with the same parts the route uses: the same API-key
check (the repository's one key cache), ``PromiseRequest`` validation,
``services.promise.promise`` and ``promise_body``; the JSON is orjson's.

Anything else (no or unknown key, a role that may not promise, a body that is
not JSON or fails validation, an unknown SKU or ZIP, a large body) is handed,
body replayed, to the route in ``api.routers.promise``, which answers it as
every route does: problem+json naming the field. So the route stays the one
definition of the operation (OpenAPI, errors), and nothing the fast path does
has to be kept in step with it but the happy path.
"""

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routers.promise import PROMISERS, promise_body
from data.lifecycle_db import Database
from models.api import Role
from models.errors import DomError
from models.promise import PromiseRequest
from services import admin
from services import promise as promising

PATH = "/promise"
MAX_FAST_BODY = 64 * 1024  # a 100-line cart is ~6 KB; larger bodies take the route
ROLES = frozenset({Role.ADMIN, *PROMISERS})
HEADERS = [(b"content-type", b"application/json")]


class PromiseFastPath:
    """ASGI middleware: answers ``POST /promise`` when it can, passes everything on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive)
        answer = _answer(scope, body) if complete else None
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*HEADERS, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _answer(scope: Scope, body: bytes) -> bytes | None:
    """The promise's JSON, or None for the route to answer (and explain) instead."""
    key = content_type = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            key = value
        elif name == b"content-type":
            content_type = value
    if key is None or content_type != b"application/json":
        return None
    db: Database = scope["app"].state.db
    try:
        actor = admin.authenticate(db, key.decode("latin-1"))
        if actor.role not in ROLES:
            return None
        req = PromiseRequest.model_validate(orjson.loads(body))
        made = promising.promise(db, req)
    except (orjson.JSONDecodeError, ValidationError, DomError):
        return None  # nothing was held: the route answers with the problem
    return orjson.dumps(promise_body(made))


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether it is all there (False: too large or cut off)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_FAST_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that first gives back what was read, then the rest of the stream."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body}
            message["more_body"] = not complete
            return message
        return await receive()

    return again
