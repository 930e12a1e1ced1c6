"""A real SMTP server on loopback for the e-mail channel tests (aiosmtpd).

Usage: python3 smtp_sink.py OUT_DIR [USER:PASSWORD]

Listens on 127.0.0.1 on a free port and prints that port on the first line of stdout. Each
message received is parsed with Python's e-mail library and written to OUT_DIR/<n>.json
(envelope, headers and the decoded body) next to its raw OUT_DIR/<n>.eml. Recipients whose
local part starts with "rifiuta" are refused with 550 and those starting with "occupato" with
451; both replies echo the address, as real servers do, so the tests can check that the
channel's errors never carry it. With USER:PASSWORD the server requires AUTH (PLAIN or LOGIN,
allowed without TLS on loopback) and answers 535 to other credentials. The server stops when
its stdin is closed (the test ended).
"""

import asyncio
import email
import email.policy
import json
import logging
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("rifiuta"):
            return "550 5.1.1 <%s>: Recipient address rejected: mailbox unavailable" % address
        if local.startswith("occupato"):
            return "451 4.3.0 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content(),
        }
        base = os.path.join(self.out_dir, str(n))
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        # Written under a temporary name and renamed, so a reader never sees half a file.
        with open(base + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(base + ".tmp", base + ".json")
        return "250 2.0.0 Ok: queued as SINK%d" % n


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


async def main(out_dir, credentials):
    # aiosmtpd warns about AUTH without TLS, which is what a loopback test wants.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    loop = asyncio.get_running_loop()
    handler = Sink(out_dir)
    auth = {}
    if credentials:
        user, password = credentials.split(":", 1)
        auth = {
            "authenticator": authenticator_for(user, password),
            "auth_required": True,
            "auth_require_tls": False,
        }
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="sink.test", **auth), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    stopped = loop.create_future()

    def on_stdin():
        if not sys.stdin.buffer.read1(4096) and not stopped.done():
            stopped.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await stopped
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
