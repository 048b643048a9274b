"""API authentication (bearer tokens), token issue, the caller's own status, and opening a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import AuthenticationFailed
from vigil.governance.access import capability_status, make_context, open_case
from vigil.governance.users import login_for_token, user_for_token
from vigil.web.api.schemas import CaseReply, CaseRequest, Me, TokenReply, TokenRequest
from vigil.web.auth import check_login_rate
from vigil.web.deps import DbSession, client_address
from vigil.web.state import web_state

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens.")

Responses = dict[int | str, dict[str, Any]]
ERRORS: Responses = {
    401: {"description": "Missing, invalid, expired or revoked token"},
    403: {"description": "Refused (role, training, purpose); the refusal is audited"},
    422: {"description": "Invalid input"},
}


def api_user(db: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    """The user a bearer token belongs to (never the session cookie, so the API needs no CSRF token)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("send an API token as 'Authorization: Bearer <token>'")
    return user_for_token(db, credentials.credentials)


ApiUser = Annotated[User, Depends(api_user)]


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenReply,
    tags=["access"],
    responses={**ERRORS, 429: {"description": "Too many attempts"}},
)
def token_issue(request: Request, db: DbSession, body: TokenRequest) -> TokenReply:
    """Exchange a username and password for an API token (rate-limited and locked out like the login page)."""
    check_login_rate(request)
    _, token = login_for_token(
        db,
        username=body.username,
        password=body.password,
        client=client_address(request),
        policy=web_state(request).system.settings.web,
        name=body.name,
        days=body.days,
    )
    return TokenReply(token=token, expires_in_days=body.days)


@router.get("/me", response_model=Me, tags=["access"], responses={401: ERRORS[401]})
def me(db: DbSession, user: ApiUser) -> Me:
    """The caller's account, role and the status of each capability today."""
    status = capability_status(db, user=user, today=utcnow().date())
    return Me(username=user.username, display_name=user.display_name, role=user.role, capabilities=status)


@router.post("/cases", status_code=201, response_model=CaseReply, tags=["access"], responses=ERRORS)
def case_open(db: DbSession, user: ApiUser, body: CaseRequest) -> CaseReply:
    """Start or join work on a case with a capability: needs the role's grant, current training and a purpose."""
    context = make_context(body.case_ref, body.purpose)
    case = open_case(db, user=user, capability=body.capability, context=context)
    return CaseReply(reference=case.reference, opened_at=case.opened_at)
