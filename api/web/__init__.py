"""The web console: server-rendered pages (Jinja2 + htmx) served by ``dom serve`` itself.

Screens per role (control tower, customer service, inventory, node work), the
sign-in that turns an API key into a session cookie, and Swagger UI / ReDoc
from vendored assets. Pages call the same services as the JSON API; every
asset is in ``static/`` (see ``static/vendor/README.md``), nothing from a CDN.
"""

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.web import auth, docs, node, orders, stock, tower
from api.web.render import page
from api.web.session import BadForm, CsrfRefused, LoginRequired, NotAllowed, current

STATIC = Path(__file__).parent / "static"
ROUTERS = (docs.router, auth.router, tower.router, orders.router, stock.router, node.router)


def _login(request: Request, exc: Exception) -> Response:
    return auth.login_redirect(request)


def _refusal(status: int, message: str) -> Callable[[Request, Exception], HTMLResponse]:
    """An exception handler drawing the 'not allowed' page with this status and message."""

    def handler(request: Request, exc: Exception) -> HTMLResponse:
        return page(request, "forbidden.html", current(request), status, message=message)

    return handler


def mount(app: FastAPI) -> None:
    """Add the console, the offline API docs and the static files to the app."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login)
    app.add_exception_handler(
        NotAllowed, _refusal(403, "this screen or action is not for your role")
    )
    app.add_exception_handler(
        CsrfRefused,
        _refusal(
            403,
            "the form was refused: its security token is missing or out of date; "
            "reload the page and try again",
        ),
    )
    app.add_exception_handler(BadForm, _refusal(400, "the form could not be read"))
