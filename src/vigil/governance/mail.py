"""Sending emails through the SMTP server in settings (optionally STARTTLS and login)."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from vigil.errors import VigilError
from vigil.settings import MailSettings

EMAIL_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def is_email_address(text: str) -> bool:
    """Whether ``text`` is one address, name@domain (no display name, no list), of at most 254 characters."""
    return len(text) <= 254 and EMAIL_ADDRESS.match(text) is not None


class MailNotSent(VigilError):
    """The SMTP server could not be reached or refused the message."""

    status_code = 502


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


def send(mail: MailSettings, email: Email, *, sender_name: str) -> None:
    """Deliver one plain-text email; raises :class:`MailNotSent` with the reason on any SMTP failure."""
    message = EmailMessage()
    message["From"] = f"{sender_name} <{mail.from_address}>"
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail.from_address.rpartition("@")[2] or "localhost")
    message.set_content(email.body)
    try:
        with smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout_s) as smtp:
            if mail.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if mail.username:
                password = mail.password.get_secret_value() if mail.password else ""
                smtp.login(mail.username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"the email could not be sent through {mail.host}:{mail.port} ({exc})") from None
