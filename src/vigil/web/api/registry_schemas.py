"""Request and response bodies of the camera registry operations of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from vigil.db.outbox_models import OutboxMessage
from vigil.db.registry_models import FootageRequest
from vigil.registry.nearby import NearbyCamera
from vigil.registry.stats import RegistryStats
from vigil.web.api.common import PageInfo
from vigil.web.api.schemas import Note, Reply, Request, RowId

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class ContactReply(Reply):
    name: str = Field(description="Owner's name.")
    address: str = Field(description="Postal address.")
    postcode: str = Field(description="Postcode.")
    email: str = Field(description="Email address.")
    phone: str = Field(description="Telephone.")


class NearbyCameraReply(Reply):
    source: str = Field(description="registered (a resident's or business's camera) or force.")
    camera_id: int = Field(description="The camera's id in its register.")
    label: str = Field(description="What the camera is.")
    kind: str = Field(description="Kind of camera.")
    latitude: float = Field(description="WGS84 latitude.")
    longitude: float = Field(description="WGS84 longitude.")
    distance_m: float = Field(description="Distance from the incident (or the drawn area).")
    facing_deg: float | None = Field(description="Direction it faces, degrees from north, if known.")
    faces_point: bool | None = Field(description="Whether it faces the incident, if known.")
    retention_days: float = Field(description="How long its owner keeps recordings.")
    probably_retained: bool = Field(description="Whether footage of the incident is probably still kept.")
    owner_id: int | None = Field(description="Owner id (to request footage), registered cameras only.")
    pia: str = Field(description="Force cameras: the current PIA's reference, or empty.")
    contact: ContactReply | None = Field(description="The owner's contact details (only for those allowed; audited).")

    @classmethod
    def of(cls, camera: NearbyCamera) -> NearbyCameraReply:
        fields = {name: getattr(camera, name) for name in cls.model_fields if name != "contact"}
        contact = camera.contact
        if contact is not None:
            fields["contact"] = ContactReply(
                name=contact.name,
                address=contact.address,
                postcode=contact.postcode,
                email=contact.email,
                phone=contact.phone,
            )
        return cls(**{"contact": None, **fields})


class AreaRequest(Request):
    vertices: list[tuple[Latitude, Longitude]] = Field(
        min_length=3, max_length=200, description="The area's corners as [latitude, longitude] pairs, in order."
    )
    radius_m: float = Field(200.0, ge=0, le=100_000, allow_inf_nan=False, description="Also cameras this near it.")
    incident_at: datetime | None = Field(None, description="When the incident happened (UTC if no offset; now).")


class FootageRequestsRequest(Request):
    owner_ids: list[RowId] = Field(min_length=1, max_length=50, description="Owners to ask (from a search).")
    window_start: datetime = Field(description="Start of the footage wanted (UTC if no offset).")
    window_end: datetime = Field(description="End of the footage wanted (UTC if no offset).")
    message: Note = Field("", description="A message to the owners.")


class FootageRequestReply(Reply):
    id: int = Field(description="Request id.")
    owner_id: int = Field(description="The owner asked.")
    status: str = Field(description="sent, opened, uploaded, declined, expired, revoked or failed.")
    window_start: datetime = Field(description="Start of the footage wanted (UTC).")
    window_end: datetime = Field(description="End of the footage wanted (UTC).")
    created_at: datetime = Field(description="When it was made (UTC).")
    expires_at: datetime = Field(description="When its link stops working (UTC).")
    uploads: int = Field(description="Files the owner has sent.")
    email: str | None = Field(description="The state of its latest email: queued, sent or failed.")

    @classmethod
    def of(cls, row: FootageRequest, mail: OutboxMessage | None) -> FootageRequestReply:
        fields = ("id", "owner_id", "status", "window_start", "window_end", "created_at", "expires_at")
        return cls(
            **{name: getattr(row, name) for name in fields},
            uploads=len(row.uploads),
            email=mail.status if mail is not None else None,
        )


class FootageRequestList(Reply):
    items: list[FootageRequestReply] = Field(description="The case's requests, oldest first.")
    page: PageInfo = Field(description="Where this page is in the list.")


class SentReply(Reply):
    requests: list[FootageRequestReply] = Field(description="The requests made, one per owner.")
    emails_sent: int = Field(description="Emails delivered to the mail server now.")
    emails_queued: int = Field(description="Emails waiting to be retried (the mail server was unreachable).")


class MonthCount(Reply):
    month: str = Field(description="The month, YYYY-MM.")
    registrations: int = Field(description="Registrations created in it.")


class RegistryStatsReply(Reply):
    registrations_by_month: list[MonthCount] = Field(description="Registrations per month, oldest first.")
    active: int = Field(description="Active registrations.")
    pending: int = Field(description="Registrations awaiting email verification.")
    deleted: int = Field(description="Registrations deleted by their owners.")
    cameras: int = Field(description="Registered cameras.")
    requests_sent: int = Field(description="Footage requests sent.")
    requests_answered: int = Field(description="Of which answered (uploaded or declined).")
    requests_uploaded: int = Field(description="Of which footage was uploaded for.")
    requests_declined: int = Field(description="Of which the owner declined.")
    requests_expired: int = Field(description="Of which expired unanswered.")
    requests_revoked: int = Field(description="Of which were withdrawn.")
    requests_failed: int = Field(description="Of which could not be emailed.")
    median_hours_to_first_upload: float | None = Field(description="Median hours from request to first upload.")

    @classmethod
    def of(cls, stats: RegistryStats) -> RegistryStatsReply:
        months = [MonthCount(month=month, registrations=count) for month, count in stats.registrations_by_month]
        fields = {name: getattr(stats, name) for name in cls.model_fields if name != "registrations_by_month"}
        return cls(registrations_by_month=months, **fields)
