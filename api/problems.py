"""Every error leaves as RFC 9457 problem details (``application/problem+json``).

Domain exceptions know nothing of HTTP; this is the one place that decides
status codes. Each problem has type, title, status, detail, instance and,
for bad input, ``errors``: one entry per bad field (``field``, ``message``).
"""

import logging
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from models.errors import BatchValidationError, DomError
from models.lifecycle_errors import (
    Busy,
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutOfStock,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("dom.api")


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemModel(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] = []


# (status, slug, title) per exception class; the first match in MRO order wins.
_MAP: dict[type[BaseException], tuple[int, str, str]] = {
    InvalidInput: (422, "invalid-input", "Invalid input"),
    BatchValidationError: (422, "invalid-batch", "Invalid batch"),
    Unauthenticated: (401, "unauthenticated", "Authentication required"),
    Forbidden: (403, "forbidden", "Forbidden"),
    NotFound: (404, "not-found", "Not found"),
    IllegalTransition: (409, "illegal-transition", "Illegal state transition"),
    OutOfStock: (409, "out-of-stock", "Out of stock"),
    IdempotencyMismatch: (409, "idempotency-key-reused", "Idempotency key reused"),
    Conflict: (409, "conflict", "Conflict"),
    PreconditionFailed: (412, "precondition-failed", "Precondition failed"),
    PreconditionRequired: (428, "precondition-required", "Precondition required"),
    Busy: (503, "busy", "Service busy"),
}


def problem(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "errors": errors or [],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _dom_error(request: Request, exc: Exception) -> JSONResponse:
    for cls in type(exc).__mro__:
        if cls in _MAP:
            status, slug, title = _MAP[cls]
            break
    else:
        status, slug, title = 400, "bad-request", "Bad request"
    errors: list[dict[str, str]] = []
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        title = exc.title[:1].upper() + exc.title[1:]
    if isinstance(exc, BatchValidationError):
        errors = [
            {"field": f"{p.file}:{p.row or ''}:{p.column or ''}", "message": p.message}
            for p in exc.problems[:100]
        ]
    if isinstance(exc, IllegalTransition):
        extra = {"current_state": exc.current, "allowed_from": exc.allowed_from}
    if isinstance(exc, OutOfStock):
        extra = {"skus": exc.skus}
        if exc.shortfall:
            extra["shortfall"] = exc.shortfall
    extra.update(getattr(exc, "problem_members", {}))  # e.g. a taken slot's next free slots
    headers = {"Retry-After": "1"} if isinstance(exc, Busy) else None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'}
    return problem(request, status, slug, title, str(exc), errors, headers, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(request, 400, "malformed-json", "Malformed JSON", "the body is not JSON")
    errors = [
        {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg"))} for e in errs
    ]
    detail = "; ".join(f"{x['field']}: {x['message']}" for x in errors[:10])
    return problem(request, 422, "invalid-input", "Invalid input", detail, errors)


def _allowed(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the
    first route that matched the path (GET of /orders/{id}, not its PATCH)."""
    methods = []
    for method in ("DELETE", "GET", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(r.matches(scope)[0] is Match.FULL for r in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}
    title = titles.get(exc.status_code, "HTTP error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return problem(
        request,
        exc.status_code,
        title.lower().replace(" ", "-"),
        title,
        str(exc.detail),
        headers=headers or None,
    )


def _constraint(request: Request, exc: Exception) -> JSONResponse:
    """A database rule refused a write (a race the service did not foresee): 409."""
    return problem(request, 409, "conflict", "Conflict", f"refused by the store: {exc}"[:500])


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "internal", "Internal error", "an unexpected error; see logs")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomError, _dom_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(duckdb.ConstraintException, _constraint)
    app.add_exception_handler(Exception, _unexpected)


def documented(**codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for problem responses: ``documented(412="ETag mismatch")``."""
    return {
        int(code.removeprefix("s")): {
            "model": ProblemModel,
            "content": {PROBLEM_JSON: {}},
            "description": desc,
        }
        for code, desc in codes.items()
    }


PROBLEMS = documented(
    s400="Malformed request",
    s401="No or unknown API key",
    s403="The key's role may not do this",
    s404="Not found",
    s409="Conflicts with the current state",
    s422="Invalid input; every bad field is named in errors",
    s503="Busy; retry",
)
# Conditional requests (If-Match): a stale ETag, or none where one is required.
STALE = documented(s412="If-Match does not match the order's current ETag")
MISSING_IF_MATCH = documented(s428="If-Match is required (GET the order for its ETag)")


def status_of(exc: BaseException) -> int:
    """The HTTP status a domain error maps to (the web console shows it on its pages)."""
    for cls in type(exc).__mro__:
        if cls in _MAP:
            return _MAP[cls][0]
    return 400
