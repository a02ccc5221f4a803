"""Drives the live stream benchmark (see benchmarks/stream)."""
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import websockets

binary, seconds = sys.argv[1], float(sys.argv[2])
CASES, SUBSCRIBERS, RATE, CONNECTIONS = 250, 1000, 500, 16
work = tempfile.mkdtemp(prefix="casehub-bench-stream-")
env = dict(os.environ, CASEHUB_DATABASE_URL=f"sqlite://{work}/hub.sqlite", CASEHUB_PORT="0", CASEHUB_LOG_LEVEL="error")
token = subprocess.run([binary, "token", "issue", "--role", "admin", "--name", "bench"], env=env, check=True,
                       capture_output=True, text=True).stdout.strip()
hub = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE, stderr=open(f"{work}/serve.err", "w"), text=True)


class HTTP:
    """A keep-alive HTTP/1.1 connection for JSON requests."""

    def __init__(self, port):
        self.port = port

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def call(self, method, path, body):
        data = json.dumps(body).encode()
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
        answer = await self.reader.readexactly(length)
        status = int(head.split(b" ", 2)[1])
        if status >= 300:
            raise SystemExit(f"{method} {path}: {status} {answer[:200]}")
        return json.loads(answer)


async def main():
    port = int(re.search(r":(\d+)$", hub.stdout.readline().strip()).group(1))
    http = await HTTP(port).open()
    cases = [(await http.call("POST", "/v1/cases", {"mrn": f"RM-{n}", "patient": {"name": f"Pasien {n}"}}))["id"] for n in range(CASES)]
    answered = {}  # message id -> time its POST was answered
    arrivals = {}  # message id -> [arrival times]
    per_case = SUBSCRIBERS // CASES

    async def subscribe(case_id, ready):
        async with websockets.connect(f"ws://127.0.0.1:{port}/v1/cases/{case_id}/stream?after=0",
                                      additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as socket:
            ready.set_result(None)
            async for frame in socket:
                now = time.monotonic()
                entry = json.loads(frame)
                if entry["type"] == "message.posted":
                    arrivals.setdefault(entry["data"]["message_id"], []).append(now)

    readies, tasks = [], []
    for index in range(SUBSCRIBERS):
        ready = asyncio.get_running_loop().create_future()
        readies.append(ready)
        tasks.append(asyncio.create_task(subscribe(cases[index % CASES], ready)))
    await asyncio.gather(*readies)
    rss_before = rss()

    connections = [await HTTP(port).open() for _ in range(CONNECTIONS)]
    queue = asyncio.Queue()
    for connection in connections:
        queue.put_nowait(connection)

    async def post(n):
        connection = await queue.get()
        try:
            message = await connection.call("POST", f"/v1/cases/{cases[n % CASES]}/threads/ppa/messages", {"body": f"Observasi {n}"})
            answered[message["id"]] = time.monotonic()
        finally:
            queue.put_nowait(connection)

    total = int(RATE * seconds)
    start = time.monotonic()
    posts = []
    for n in range(total):  # paced at RATE per second, bounded by `total`
        delay = start + n / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(n)))
    await asyncio.gather(*posts)
    posting = time.monotonic() - start
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(arrivals.get(m, [])) for m in answered) < total * per_case:
        await asyncio.sleep(0.1)
    rss_after = rss()
    for task in tasks:
        task.cancel()

    latencies = sorted(max(0.0, t - answered[m]) * 1000 for m in answered for t in arrivals.get(m, []))
    expected = total * per_case
    missed = expected - len(latencies)
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")
    print()
    print(f"{'subscribers':>11} {'cases':>6} {'posted':>7} {'posts/s':>8} {'deliveries':>11} {'missed':>7} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'RSS MiB before → after':>24}")
    print(f"{SUBSCRIBERS:>11} {CASES:>6} {total:>7} {total / posting:>8.0f} {len(latencies):>11} {missed:>7} "
          f"{pct(50):>7.2f} {pct(99):>7.2f} {latencies[-1] if latencies else float('nan'):>7.2f} "
          f"{rss_before / 1024:>11.0f} → {rss_after / 1024:<10.0f}")
    print("latency: from the POST's answer reaching the poster to the frame reaching each subscriber (target p99 <= 10 ms)")


def rss():
    with open(f"/proc/{hub.pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


try:
    asyncio.run(main())
finally:
    hub.terminate()
    try:
        hub.wait(timeout=20)
    except subprocess.TimeoutExpired:
        hub.kill()
