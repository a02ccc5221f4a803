#!/usr/bin/env python3
"""An SMTP server for CaseHub's tests (aiosmtpd on 127.0.0.1).

Prints "listening PORT". Each accepted mail is written as one JSON line to --record:
{"mail_from", "rcpt_tos", "data"} with the raw message. Recipients decide the answer:
  temp-fail-N@...   451 to the first N attempts for that address, then 250
  reject@...        550
"""
import argparse
import json
import signal
import socket
import threading
import time

from aiosmtpd.controller import Controller

lock = threading.Lock()
attempts = {}


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "reject":
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("temp-fail-"):
            with lock:
                attempts[address] = attempts.get(address, 0) + 1
                seen = attempts[address]
            if seen <= int(local.rsplit("-", 1)[1]):
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        with lock, open(args.record, "a") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted"


# A child inherits its parent's signal mask: the Swift test runner's blocks SIGTERM, which
# would leave stopping by SIGTERM without effect. Unblocked before any thread starts.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
args = parser.parse_args()
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Handler(), hostname="127.0.0.1", port=port, decode_data=False)
controller.start()
print(f"listening {port}", flush=True)
while True:
    time.sleep(3600)
