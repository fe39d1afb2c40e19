"""The HTTP API and the static UI (FastAPI).

Authentication: ``POST /api/login`` sets a signed session cookie (HttpOnly, SameSite=Strict) and returns a
CSRF token; cookie-authenticated writes must echo it in ``X-CSRF-Token`` (double submit, also readable from
the ``lw_csrf`` cookie). API clients may instead send ``Authorization: Bearer TOKEN`` (no cookie, no CSRF).
With ``require_token`` (any bind address but loopback) login needs an annotator's token, and every route
but the login page and ``/api/login`` refuses a request without a valid session or token; on loopback a
name is enough. ``X-Labelwise-Tab`` names the browser tab, so two tabs of one person get different texts.
"""


import contextlib
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from labelwise.server.export import EXTENSIONS, FORMATS, MEDIA_TYPES, export_body
from labelwise.server.progress import forecast
from labelwise.server.store import Store, StoreError, check_name

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE, CSRF_COOKIE = "lw_session", "lw_csrf"
SESSION_MAX_AGE = 30 * 24 * 3600
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class LoginBody(BaseModel):
    name: str = ""
    token: str = ""


class LabelBody(BaseModel):
    value: Any
    next: bool = True


class NextBody(BaseModel):
    next: bool = True


class Identity:
    def __init__(self, annotator_id: int, name: str, tab: str):
        self.id, self.name, self.tab = annotator_id, name, tab


def _sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class _Guard:
    """Host check and security headers as plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` runs
    every request through an extra task and body stream: a measurable share of a 2 ms request)."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]

    def __init__(self, app: Any, hosts: set[str] | None):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.HEADERS}
                message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] += self.HEADERS
            await send(message)

        if self.hosts is not None:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "").lower()
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if name not in self.hosts:
                refusal = JSONResponse({"detail": f"host {host!r} not allowed"}, status_code=421)
                return await refusal(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)


def create_app(store: Store, *, trainer: Any = None, require_token: bool = False,
               allowed_hosts: Iterable[str] | None = None, review: Any = None) -> FastAPI:
    """The app for one project. ``allowed_hosts`` (when given) rejects other Host headers: on loopback this
    stops DNS-rebinding pages from talking to the server. ``review``: the "review labels" queue
    (:class:`labelwise.server.review.ReviewQueue`; default: one running its checks in a thread)."""
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if trainer is not None:  # uvicorn re-raises SIGTERM after shutdown: stop the worker process now
            trainer.stop()
        _app.state.review.stop()  # a label check's worker process, if one runs

    app = FastAPI(title="labelwise", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.store, app.state.trainer = store, trainer
    secret = store.project.secret
    hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    app.add_middleware(_Guard, hosts=hosts)

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, err: StoreError):
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    def session_value(annotator_id: int) -> str:
        issued = str(int(time.time()))
        return f"{annotator_id}.{issued}.{_sign(secret, f'session:{annotator_id}.{issued}')}"

    def csrf_for(session: str) -> str:
        return _sign(secret, f"csrf:{session}")

    async def identify(request: Request) -> Identity:
        # async: FastAPI runs a sync dependency in the thread pool, one more thread hop per request; this
        # touches the database only for a bearer token or an annotator not seen yet (both indexed lookups)
        tab = request.headers.get("x-labelwise-tab", "")[:64]
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            found = store.check_token(auth[7:].strip())
            if found is None:
                raise HTTPException(401, "invalid token")
            return Identity(found[0], found[1], tab)
        cookie = request.cookies.get(SESSION_COOKIE, "")
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise HTTPException(401, "log in first")
        if not hmac.compare_digest(parts[2], _sign(secret, f"session:{parts[0]}.{parts[1]}")):
            raise HTTPException(401, "invalid session")
        if time.time() - int(parts[1]) > SESSION_MAX_AGE:
            raise HTTPException(401, "session expired: log in again")
        if request.method in UNSAFE:
            sent = request.headers.get("x-csrf-token", "")
            if not sent or not hmac.compare_digest(sent, csrf_for(cookie)):
                raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        name = store.annotator_name(int(parts[0]))
        if name is None:
            raise HTTPException(401, "unknown annotator")
        return Identity(int(parts[0]), name, tab)

    Who = Annotated[Identity, Depends(identify)]

    # ------------------------------------------------------------------ public
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/config")
    def config() -> dict[str, Any]:
        """What the login page needs (no project data)."""
        return {"require_token": require_token, "task": store.project.task}

    @app.post("/api/login")
    def login(body: LoginBody, response: Response) -> dict[str, Any]:
        if body.token:
            found = store.check_token(body.token)
            if found is None or (body.name.strip() and body.name.strip() != found[1]):
                raise HTTPException(401, "unknown token")
            annotator_id, name = found
        elif require_token:
            raise HTTPException(401, "this server needs a token to log in")
        else:
            name = check_name(body.name)  # InvalidLabel: 422, saying what is wrong
            annotator_id = store.annotator_id(name, create=True)
        session = session_value(annotator_id)
        csrf = csrf_for(session)
        response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_MAX_AGE, httponly=True, samesite="strict",
                            secure=False)
        response.set_cookie(CSRF_COOKIE, csrf, max_age=SESSION_MAX_AGE, httponly=False, samesite="strict")
        return {"annotator": name, "csrf": csrf}

    # --------------------------------------------------------------- needs auth
    @app.post("/api/logout")
    def logout(response: Response, who: Who) -> dict[str, Any]:
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(CSRF_COOKIE)
        return {"ok": True}

    @app.get("/api/me")
    def me(request: Request, who: Who) -> dict[str, Any]:
        cookie = request.cookies.get(SESSION_COOKIE)
        p = store.project
        return {"annotator": who.name, "csrf": csrf_for(cookie) if cookie else None,
                "project": {"name": p.name, "task": p.task, "labels": p.labels, "descriptions": p.descriptions,
                            "n_items": store.n_items}}

    # The hot path (next text; answer + next text; skip + next text) runs on the event loop, not in the
    # thread pool: the store does it in one short transaction under its own lock, which serializes writers
    # anyway, and a thread hop per request (GIL handoffs among busy threads) cost more than the work itself
    # with 20 annotators on 2 cores.
    @app.get("/api/next")
    async def next_item(who: Who) -> dict[str, Any]:
        return {"item": store.next_item(who.id, session=who.tab)}

    @app.post("/api/items/{item_id}/label")
    async def label(item_id: int, body: LabelBody, who: Who) -> dict[str, Any]:
        result = store.submit(who.id, item_id, body.value, session=who.tab, next_item=body.next)
        return {"ok": True, "label_id": result["label_id"], "item": result["next"]}

    @app.post("/api/items/{item_id}/skip")
    async def skip(item_id: int, who: Who, body: NextBody | None = None) -> dict[str, Any]:
        result = store.skip(who.id, item_id, session=who.tab, next_item=True if body is None else body.next)
        return {"ok": True, "item": result["next"]}

    @app.post("/api/undo")
    def undo(who: Who) -> dict[str, Any]:
        return {"item": store.undo(who.id, session=who.tab)}

    @app.get("/api/items/{item_id}")
    def item(item_id: int, who: Who) -> dict[str, Any]:
        return {"item": store.item_view(item_id, who.id), "history": store.label_history(item_id)}

    @app.get("/api/history")
    def history(who: Who, limit: int = 50) -> dict[str, Any]:
        return {"history": store.history(who.id, limit=max(1, min(limit, 500)))}

    @app.get("/api/search")
    def search(who: Who, q: str = "", limit: int = 20) -> dict[str, Any]:
        return {"results": store.search(q, limit=max(1, min(limit, 200)))}

    @app.get("/api/progress")
    def progress(who: Who, counts: bool = True) -> dict[str, Any]:
        """``counts=false`` (the status line after every answer) leaves out the label counts and agreement,
        aggregates over every answer that only the open Progress panel shows (then both are null)."""
        all_runs = store.runs()
        runs = [r for r in all_runs if r["error"] is None]
        curve = [{"n_labels": r["n_labels"], "score": r["accuracy"]} for r in runs if r["accuracy"] is not None]
        n = store.n_labeled
        last_error = next((r["error"] for r in reversed(all_runs) if r["error"]), None)
        return {
            "n_labels": n, "n_items": store.n_items, "counts": store.label_counts() if counts else None,
            "answers_per_text": store.answers_per_text, "n_complete": store.n_complete,
            "agreement": store.agreement() if counts and store.answers_per_text > 1 else None,
            "metric": runs[-1]["metric"] if runs else None,
            "accuracy": curve[-1]["score"] if curve else None,
            "curve": curve,
            "forecast": forecast([c["n_labels"] for c in curve], [c["score"] for c in curve], current=n,
                                 pool=store.n_items),
            "model": {"version": store.ranking_version, "rounds": len(runs),
                      "training": bool(trainer is not None and getattr(trainer, "running", False)),
                      "stage": getattr(trainer, "progress", None) if trainer is not None else None,
                      "last_error": last_error,
                      "notes": getattr(trainer, "model_notes", None) if trainer is not None else None},
        }

    @app.get("/api/export")
    def export(who: Who, format: str = "jsonl") -> Response:  # noqa: A002
        if format not in FORMATS:
            raise HTTPException(422, f"format must be one of {', '.join(FORMATS)}")
        body, _ = export_body(store, format)
        media = MEDIA_TYPES[format]
        filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{store.project.name}-labels{EXTENSIONS[format]}")
        return Response(body.encode("utf-8"), media_type=f"{media}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    from labelwise.server.review import add_review_routes  # /api/review*: the "review labels" queue

    add_review_routes(app, store, Who, queue=review)
    return app
