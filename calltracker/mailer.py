"""Edge: send email. `build_transport(settings)` gives an SMTP transport or an outbox of `.eml` files.

A transport is a context manager: inside one `with`, the SMTP transport keeps one connection open for
every message and reconnects when the server dropped it. Errors come out as DeliveryError:

- `permanent=True` for a 5xx refusal of this message (bad recipient, content refused);
- `permanent=False` for 4xx answers and connections lost while the message was being transferred;
- TransportError (temporary) when the server cannot be reached, TLS or login fails: nothing was sent,
  and the caller should stop the batch rather than burn every delivery's attempts.

A connection found closed when a new message *starts* (idle timeout, server restart between messages) is
reopened and the message sent on the new connection: the server cannot have accepted it yet. A connection
lost *during* DATA is reported as temporary and not retried here, because the server may have accepted it.

`send_bytes` takes two optional hooks, so a caller can use the time the server spends on each message:
`before_data` is called once per message while the server reads MAIL FROM, always before the message can
be accepted (the outbox claims the delivery there); if it raises, the transaction is reset, nothing is
sent and the exception propagates. `meanwhile` is called while the server reads and checks the message
itself, its longest work (the outbox prepares the next messages there): once, then again for as long as it
returns true (more to do) and the server has not answered. It must not raise. (Not while the server reads
RCPT and DATA: it answers those at once, and work done then would only make the sender wait.)
"""

from __future__ import annotations

import email.policy
import logging
import os
import re
import select
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Protocol

from calltracker.config import Settings
from calltracker.errors import DeliveryError, TransportError

log = logging.getLogger(__name__)

SMTP_POLICY = email.policy.SMTP


class Transport(Protocol):
    """Sends messages; used as a context manager around a batch."""

    def send(self, msg: EmailMessage) -> None: ...

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None: ...

    def __enter__(self) -> Transport: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients of a message (Sender or From; To, Cc and Bcc)."""
    sender = getaddresses([str(msg.get("Sender") or msg.get("From") or "")])
    recipients = [addr for _, addr in getaddresses([str(v) for h in ("To", "Cc", "Bcc")
                                                     for v in msg.get_all(h, [])]) if addr]
    return (sender[0][1] if sender else ""), recipients


def _flatten(msg: EmailMessage) -> bytes:
    del msg["Bcc"]
    return msg.as_bytes(policy=SMTP_POLICY)


def _require_recipients(recipients: Sequence[str]) -> None:
    if not recipients:
        raise DeliveryError("message has no recipients", permanent=True)


class _MessageSender:
    """`send(msg)` for transports whose real work is `send_bytes(sender, recipients, data)`."""

    def send(self, msg: EmailMessage) -> None:
        sender, recipients = envelope(msg)
        self.send_bytes(sender, recipients, _flatten(msg))

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        raise NotImplementedError


class SmtpTransport(_MessageSender):
    """SMTP with STARTTLS or implicit TLS and login; one connection reused across messages."""

    def __init__(self, host: str, port: int, *, security: str = "none", username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None
        self.connections = 0  # how many times we connected: tests and logs read it

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context
        if context is None and self.security in ("ssl", "starttls"):
            context = ssl.create_default_context()  # loads the certificate store (~20 ms): only for TLS
        try:
            if self.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"SMTP login to {self.host}:{self.port} refused: {_reply(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"cannot connect to SMTP server {self.host}:{self.port}: {_reply(exc)}") from None
        self.connections += 1
        return conn

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        _require_recipients(recipients)
        gate = [before_data] if before_data is not None else []  # called once, even if MAIL is sent twice
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                self._envelope(conn, sender, recipients, data, gate)
            except smtplib.SMTPServerDisconnected:
                # Dropped before DATA: the server has nothing of this message, so a fresh connection may
                # send it. A second drop in a row is the server's problem, not ours to loop on.
                self._drop()
                if attempt == 2:
                    raise DeliveryError(f"SMTP server {self.host} closed the connection", permanent=False) from None
                continue
            except OSError as exc:
                self._drop()
                raise DeliveryError(f"SMTP connection to {self.host} failed: {exc}", permanent=False) from None
            try:
                self._data(conn, data, meanwhile)
            except smtplib.SMTPDataError as exc:
                self._rset()
                raise DeliveryError(f"message refused: {_reply(exc)}", permanent=exc.smtp_code >= 500) from None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                raise DeliveryError(f"connection lost while sending the message: {exc}", permanent=False) from None
            return
        raise AssertionError("unreachable")

    def _reply(self, conn: smtplib.SMTP, meanwhile: Callable[[], bool | None] | None) -> tuple[int, bytes]:
        """The reply to the command just written, after doing `meanwhile` while the server works on it: again
        and again, as long as it has more to do and no reply has come."""
        if meanwhile is not None:
            try:
                while meanwhile() and not _answered(conn):
                    pass
            except BaseException:
                self._drop()  # a reply left unread: the connection's state is unknown
                raise
        return conn.getreply()

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipients: Sequence[str], data: bytes,
                  gate: list[Callable[[], None]]) -> None:
        options = ""
        if conn.does_esmtp:
            if conn.has_extn("size"):
                options += f" SIZE={len(data)}"
            if conn.has_extn("8bitmime"):
                options += " BODY=8BITMIME"
        try:
            conn.putcmd("mail", f"FROM:{smtplib.quoteaddr(sender)}{options}")
            if gate:
                try:
                    gate.pop()()
                except BaseException:
                    self._withdraw(conn)
                    raise
            code, resp = conn.getreply()
            if code != 250:
                if code == 421:
                    raise smtplib.SMTPServerDisconnected("421 " + resp.decode(errors="replace"))
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            refused: dict[str, tuple[int, bytes]] = {}
            for rcpt in recipients:
                conn.putcmd("rcpt", f"TO:{smtplib.quoteaddr(rcpt)}")
                code, resp = conn.getreply()
                if code not in (250, 251):
                    refused[rcpt] = (code, resp)
            if len(refused) == len(recipients):
                raise smtplib.SMTPRecipientsRefused(refused)
        except smtplib.SMTPSenderRefused as exc:
            self._rset()
            raise DeliveryError(f"sender refused: {_reply(exc)}", permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPRecipientsRefused as exc:
            self._rset()
            codes = [c for c, _ in exc.recipients.values()]
            text = "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in exc.recipients.items())
            raise DeliveryError(f"recipient refused: {text}", permanent=all(c >= 500 for c in codes)) from None

    def _data(self, conn: smtplib.SMTP, data: bytes, meanwhile: Callable[[], bool | None] | None) -> None:
        """DATA, as `smtplib.SMTP.data` sends it; a refusal of the message itself is an SMTPDataError."""
        conn.putcmd("data")
        code, resp = conn.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)
        # Dot-stuffing as smtplib does it; most messages have no line to stuff, and finding that out is
        # much cheaper than the substitution.
        body = _LEADING_DOT.sub(b"..", data) if data.startswith(b".") or b"\n." in data else data
        conn.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
        code, resp = self._reply(conn, meanwhile)
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)

    def _withdraw(self, conn: smtplib.SMTP) -> None:
        """Abandon the transaction begun by the MAIL FROM just written: read its reply, then RSET."""
        try:
            conn.getreply()
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _rset(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _answered(conn: smtplib.SMTP) -> bool:
    """Whether the server's reply can be read without waiting (bytes on the socket, or decrypted and pending)."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    if not hasattr(select, "poll"):  # (select() takes no descriptor past 1023; poll has no such limit)
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _reply(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {' '.join(str(message).split())}"
    return " ".join(str(exc).split()) or type(exc).__name__


_LEADING_DOT = re.compile(rb"(?m)^\.")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>\r\n]+)>", re.I | re.M)


class OutboxTransport(_MessageSender):
    """Writes each message as an `.eml` file, named after its Message-ID so a resend replaces, not adds."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> OutboxTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        _require_recipients(recipients)
        if before_data is not None:
            before_data()
        head = data.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", found.group(1).decode(errors="replace")) if found else None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            final = self.folder / f"{name}.eml" if name else Path(tmp).with_name(Path(tmp).name[5:])
            os.replace(tmp, final)
        except OSError as exc:
            raise TransportError(f"cannot write to the outbox {self.folder}: {exc.strerror}") from None


def build_transport(settings: Settings) -> SmtpTransport | OutboxTransport:
    """The configured transport: SMTP (`mail.transport = "smtp"`) or the `.eml` outbox."""
    mail = settings.mail
    if mail.transport == "smtp":
        return SmtpTransport(mail.smtp_host, mail.smtp_port, security=mail.smtp_security,
                             username=mail.smtp_username, password=mail.smtp_password, timeout=mail.smtp_timeout)
    return OutboxTransport(mail.outbox_dir)
