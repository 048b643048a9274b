from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.registry.smtp import Mailbox
from tests.support.builders import make_user
from tests.support.registry_requests import officer, send_one
from vigil.errors import NotPermitted
from vigil.registry.requests import decline_request
from vigil.registry.stats import registry_stats
from vigil.settings import Settings


def test_statistics_count_registrations_requests_answers_and_time_to_first_upload(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    supervisor = make_user(db, "sue", role="supervisor")
    before = registry_stats(db, user=supervisor)
    user = officer(db)
    uploaded = send_one(db, settings, mailbox, user)
    declined = send_one(db, settings, mailbox, user)
    send_one(db, settings, mailbox, user)
    uploaded.request.first_upload_at = uploaded.request.created_at + timedelta(hours=6)
    uploaded.request.status = "uploaded"
    decline_request(db, token=declined.token)
    stats = registry_stats(db, user=supervisor)
    assert stats.active - before.active == 3
    assert stats.requests_sent - before.requests_sent == 3
    assert stats.requests_answered - before.requests_answered == 2
    assert stats.requests_declined - before.requests_declined == 1
    assert stats.median_hours_to_first_upload == pytest.approx(6.0) or before.median_hours_to_first_upload is not None
    assert (
        sum(count for _, count in stats.registrations_by_month)
        - sum(count for _, count in before.registrations_by_month)
        == 3
    )


def test_statistics_are_for_supervisors_not_investigators(db: Session) -> None:
    with pytest.raises(NotPermitted):
        registry_stats(db, user=make_user(db, "ivy"))
