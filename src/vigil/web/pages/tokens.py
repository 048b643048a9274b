"""API tokens on the web: a user lists and revokes their own; an administrator those of any user."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.governance.users import list_tokens, revoke_token
from vigil.web.auth import CurrentUser, flash
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_goes_to
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)

TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Username = Annotated[str, Query(alias="user", max_length=64)]


@router.get("/account/tokens")
def tokens_page(request: Request, db: DbSession, user: CurrentUser, username: Username = "") -> Response:
    owner = username.strip().lower() or user.username
    tokens = list_tokens(db, actor=user, username=owner)  # another user's: administrators only (audited refusal)
    return render(request, "account_tokens.html", user=user, section="", tokens=tokens, owner=owner, now=utcnow())


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(request: Request, db: DbSession, user: CurrentUser, token_id: TokenId) -> Response:
    with refusal_goes_to(request, "/account/tokens"):
        token = revoke_token(db, actor=user, token_id=token_id)
    owner = token.user.username
    flash(request, f"The API token “{token.name}” of {owner} is revoked: it no longer works.", "ok")
    back = "/account/tokens" + ("" if owner == user.username else "?" + urlencode({"user": owner}))
    return RedirectResponse(back, status_code=303)
