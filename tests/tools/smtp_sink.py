"""smtp_sink: an aiosmtpd handler that writes each received message to a file.

Run with Debian's python3 and python3-aiosmtpd, loopback only:
  PYTHONPATH=tests/tools /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT \
      -c smtp_sink.Sink FILE
Each message becomes one JSON line in FILE: {"mail_from", "rcpt_tos", "subject" (decoded),
"message_id", "idempotency_key", "content_type", "body" (decoded text), "raw" (the message as
received)}. It accepts every message with 250.
"""
import email
import email.header
import email.policy
import json
import threading

LOCK = threading.Lock()


class Sink:
    def __init__(self, path):
        self.path = path

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the output file")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "date": str(msg.get("Date", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "idempotency_key": str(msg.get("X-Idempotency-Key", "")),
            "content_type": str(msg.get("Content-Type", "")),
            "body": body.get_content() if body is not None else "",
            "raw": raw.decode("utf-8", "replace"),
        }
        with LOCK, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"
