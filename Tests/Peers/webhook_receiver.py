#!/usr/bin/env python3
"""A webhook receiver for CaseHub's tests: records every request and checks its signature
with the official Standard Webhooks library.

Prints "listening PORT" once bound to 127.0.0.1. Each request is appended to the --record
file as one JSON line: {"path", "headers", "body", "verified", "answered"}.

What it answers depends on the path:
  /ok/...                       204
  /status/CODE/...              CODE
  /flaky/N/...                  500 to the first N requests on that path, then 204
  /retry-after/SECONDS/N/...    429 with Retry-After to the first N, then 204
  /slow/SECONDS/...             waits, then 204
POST /_secrets {"PATH-PREFIX": "whsec_..."} tells it which secret signs which paths.
"""
import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

lock = threading.Lock()
secrets = {}
counts = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_secrets":
            with lock:
                secrets.update(json.loads(body))
            return self.answer(204)
        parts = [p for p in self.path.split("/") if p]
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
            secret = next((s for prefix, s in secrets.items() if self.path.startswith(prefix)), None)
        status, extra = 204, {}
        if parts[:1] == ["status"]:
            status = int(parts[1])
        elif parts[:1] == ["flaky"] and seen <= int(parts[1]):
            status = 500
        elif parts[:1] == ["retry-after"] and seen <= int(parts[2]):
            status, extra = 429, {"Retry-After": parts[1]}
        elif parts[:1] == ["slow"]:
            time.sleep(float(parts[1]))
        verified = None
        if secret is not None:
            try:
                Webhook(secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
                verified = True
            except Exception:
                verified = False
        record = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "verified": verified,
            "answered": status,
        }
        with lock, open(args.record, "a") as out:
            out.write(json.dumps(record) + "\n")
        self.answer(status, extra)

    def answer(self, status, headers=None):
        payload = b"" if status == 204 else json.dumps({"status": status}).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


# A child inherits its parent's signal mask: the Swift test runner's blocks SIGTERM, which
# would leave stopping by SIGTERM without effect. Unblocked before any thread starts.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
args = parser.parse_args()
# The hub opens many connections at once (several per endpoint): a listen backlog of 5 (the
# default) would drop SYNs and stall them for seconds of TCP retransmission.
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
