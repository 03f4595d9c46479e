"""A real SMTP server on 127.0.0.1 (aiosmtpd) for delivery tests and the digest bench."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class SinkHandler:
    """Keeps every accepted message; can refuse recipients with 550 and drop the connection after a DATA."""

    refuse: set[str] = field(default_factory=set)
    refuse_data: dict[str, str] = field(default_factory=dict)  # recipient -> the reply to the end of DATA
    drop_on_mail: set[int] = field(default_factory=set)  # drop the connection at the n-th MAIL FROM
    mails: int = 0
    messages: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    keep: bool = True

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any) -> str:
        self.mails += 1
        if self.mails in self.drop_on_mail:
            server.transport.close()  # like an idle timeout or a restart between two messages
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refused = [self.refuse_data[r] for r in envelope.rcpt_tos if r in self.refuse_data]
        if refused:
            return refused[0]
        with self.lock:
            if self.keep:
                self.messages.append(envelope.content)
            else:
                self.messages.append(b"")
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        return [email.message_from_bytes(m, policy=email.policy.default) for m in self.messages]


class SmtpSink:
    def __init__(self, handler: SinkHandler | None = None) -> None:
        self.handler = handler or SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
