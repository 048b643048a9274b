"""Request and response bodies of the JSON API. Requests forbid unknown fields; every field is described."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from vigil.governance.roles import Capability, Role


def _plain_text(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
        raise ValueError("control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_plain_text)]
ShortText = Annotated[str, StringConstraints(max_length=64), AfterValidator(_plain_text)]
Address = Annotated[str, StringConstraints(max_length=400), AfterValidator(_plain_text)]
LongText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_plain_text)]
Description = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_plain_text)]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_plain_text)]
Password = Annotated[str, StringConstraints(max_length=1024), AfterValidator(_plain_text)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(Request):
    username: ShortText = Field(description="Your vigil username.")
    password: Password = Field(description="Your password (an initial password must first be changed on the web).")
    name: Annotated[str, StringConstraints(max_length=100), AfterValidator(_plain_text)] = Field(
        "api", description="A label for the token, e.g. the program that will use it."
    )
    days: int = Field(90, ge=1, le=365, description="Days until the token expires.")


class TokenReply(Reply):
    token: str = Field(description="The bearer token; shown once and stored by vigil only as a hash.")
    token_type: str = Field("bearer", description="Send it as `Authorization: Bearer <token>`.")
    expires_in_days: int = Field(description="Days until the token expires.")


class Me(Reply):
    username: str = Field(description="Login name.")
    display_name: str = Field(description="Name shown on pages and in reports.")
    role: Role = Field(description="Role, which decides the permissions and the capabilities one may be trained for.")
    capabilities: dict[Capability, str] = Field(
        description="For each capability: 'granted', 'needs training' or 'not for this role'."
    )


class CaseRequest(Request):
    case_ref: ShortText = Field(description="The crime or incident reference, e.g. CUM-2026-001234.")
    purpose: LongText = Field(description="The policing purpose of the work (at least 10 characters).")
    capability: Capability = Field(description="The capability the work needs; it must be granted and trained.")


class CaseReply(Reply):
    reference: str = Field(description="The case reference.")
    opened_at: datetime = Field(description="When the case was first registered in vigil (UTC).")


class Training(Reply):
    capability: Capability = Field(description="The capability the course qualifies for.")
    course: str = Field(description="Course name.")
    completed_on: date = Field(description="Date the course was completed.")
    expires_on: date = Field(description="Date the qualification lapses.")
    id: int = Field(description="Record id (to withdraw it).")
    current: bool = Field(description="Whether the record is current today (completed, not expired or withdrawn).")
    withdrawn: bool = Field(False, description="Whether the record has been withdrawn.")


class TrainingRequest(Request):
    capability: Capability = Field(description="The capability the course qualifies for.")
    course: Name = Field(description="Course name.")
    completed_on: date = Field(description="Date the course was completed (not in the future).")
    expires_on: date = Field(description="Date the qualification lapses (after completion).")


class UserReply(Reply):
    username: str = Field(description="Login name.")
    display_name: str = Field(description="Name shown on pages and in reports.")
    role: Role = Field(description="Role.")
    is_active: bool = Field(description="False when the account is disabled.")
    must_change_password: bool = Field(description="True until the initial password has been changed.")
    locked_until: datetime | None = Field(description="End of a lock-out after failed logins (UTC), if locked.")
    training: list[Training] = Field(description="Training records, oldest first.")


class UserRequest(Request):
    username: ShortText = Field(description="Login name: 2-64 lower-case letters, digits, '.', '_' or '-'.")
    display_name: Name = Field(description="Name shown on pages and in reports.")
    role: Role = Field(description="Role of the new account.")
    # No password field: vigil generates a one-time password (extra fields are refused with 422).


class NewPasswordReply(Reply):
    username: str = Field(description="Login name.")
    one_time_password: str = Field(description="Generated password, shown only now; it must be changed at login.")


class NewUserReply(UserReply):
    one_time_password: str = Field(description="Generated password, shown only now; it must be changed at login.")


class RoleRequest(Request):
    role: Role = Field(description="The account's new role.")


class Pia(Reply):
    reference: str = Field(description="PIA reference.")
    approved_purposes: str = Field(description="Purposes the PIA approves.")
    approved_on: date = Field(description="Approval date.")
    review_date: date = Field(description="Date by which the PIA must be reviewed; it lapses after it.")
    approved_by: str = Field(description="Who approved it.")


class PiaRequest(Request):
    reference: ShortText = Field(description="PIA reference (unique).")
    approved_purposes: LongText = Field(description="Purposes the PIA approves.")
    approved_on: date = Field(description="Approval date.")
    review_date: date = Field(description="Review date (after the approval date).")
    approved_by: Name = Field(description="Who approved it.")


class LocationReply(Reply):
    id: int = Field(description="Location id.")
    name: str = Field(description="Location name.")
    address: str = Field(description="Postal address or description.")
    latitude: float | None = Field(description="WGS84 latitude.")
    longitude: float | None = Field(description="WGS84 longitude.")
    current_pia: Pia | None = Field(description="The PIA in force today, if any.")
    cameras: list[str] = Field(description="Codes of the cameras at this location.")


class LocationRequest(Request):
    name: Name = Field(description="Location name (unique).")
    address: Address = Field("", description="Postal address or description.")
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude.")
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude.")


class CameraReply(Reply):
    code: str = Field(description="Camera code.")
    name: str = Field(description="Camera name.")
    location_id: int = Field(description="Id of the camera's location.")
    location: str = Field(description="Name of the camera's location.")
    bearing_deg: float | None = Field(description="Direction the camera faces, degrees from north.")
    pia_current: bool = Field(description="Whether the location has a current PIA (needed to analyse footage).")
    pia_reference: str | None = Field(description="Reference of the current PIA, if any.")


class CameraRequest(Request):
    code: ShortText = Field(description="Camera code: letters, digits, '-', '_' or '.' (stored upper-case).")
    name: Name = Field("", description="Camera name (defaults to the code).")
    location_id: RowId = Field(description="Id of the location the camera is at.")
    bearing_deg: float | None = Field(
        None, ge=0, lt=360, allow_inf_nan=False, description="Direction the camera faces, degrees from north."
    )
    stream_url: Annotated[str, StringConstraints(max_length=500), AfterValidator(_plain_text)] | None = Field(
        None,
        description="Live source (rtsp, rtsps, http or https URL); stored encrypted, never returned by the API.",
    )


class AuditEntryReply(Reply):
    seq: int = Field(description="Position in the chain.")
    at: datetime = Field(description="When it happened (UTC).")
    actor: str = Field(description="Who did it.")
    action: str = Field(description="What was done, e.g. 'login' or 'user.create'.")
    outcome: str = Field(description="ok, refused or failed.")
    capability: str | None = Field(description="Capability used, if any.")
    case_ref: str | None = Field(description="Case the action was for, if any.")
    purpose: str | None = Field(description="Stated purpose, if any.")
    subject_type: str | None = Field(description="Kind of thing acted on.")
    subject_id: str | None = Field(description="Id of the thing acted on.")
    details: str = Field(description="Further details (canonical JSON).")
    prev_hash: str = Field(description="Hash of the previous entry.")
    hash: str = Field(description="SHA-256 of this entry's canonical form.")


class AuditVerifyReply(Reply):
    ok: bool = Field(description="True when every link of the chain checks out.")
    checked: int = Field(description="Entries checked.")
    head_seq: int = Field(description="Sequence number of the chain head.")
    head_hash: str = Field(description="Hash of the chain head.")
    broken_seq: int | None = Field(description="First broken entry, if any.")
    problem: str = Field(description="What is wrong, if anything.")
    description: str = Field(description="One-line summary.")


class RetentionRunRequest(Request):
    dry_run: bool = Field(False, description="Only count what is due; delete nothing.")


class RetentionClass(Reply):
    data_class: str = Field(description="Class of data, e.g. 'footage'.")
    policy: str = Field(description="The policy applied.")
    rows: int = Field(description="Records due (or deleted).")
    files: int = Field(description="Files due (or deleted).")


class RetentionRunReply(Reply):
    at: datetime = Field(description="When the run happened (UTC).")
    dry_run: bool = Field(description="Whether it was a dry run.")
    results: list[RetentionClass] = Field(description="Per data class.")
    file_errors: list[str] = Field(description="Files that could not be deleted.")


class RetentionReply(Reply):
    policies: dict[str, float] = Field(description="Retention settings in force.")
    due_now: list[RetentionClass] = Field(description="What each rule would delete if run now.")
    last_runs: list[AuditEntryReply] = Field(description="The latest retention runs, newest first.")
