"""Drives the delivery benchmark (see benchmarks/delivery): builds an outbox backlog with
the receivers unreachable, then lets the hub empty it into real peers and times it."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing

binary, seconds, curl_floor = sys.argv[1], float(sys.argv[2]), sys.argv[3]
work = tempfile.mkdtemp(prefix="casehub-bench-delivery-")
database = f"{work}/hub.sqlite"
started = []  # processes to stop, by PID, whatever happens
CONCURRENCY = 16  # the hub's per-endpoint limit: wrk gets the same number of connections
SMTP_CONNECTIONS = 8  # the hub's SMTP limit: smtp-source gets the same


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args, **kwargs):
    process = subprocess.Popen(args, **kwargs)
    started.append(process)
    return process


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port):
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


class Hub:
    def __init__(self, smtp_port, allow_private=True):
        env = dict(os.environ, CASEHUB_DATABASE_URL=f"sqlite://{database}", CASEHUB_PORT="0", CASEHUB_LOG_LEVEL="error",
                   CASEHUB_RETRY_SCHEDULE="1d", CASEHUB_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                   CASEHUB_SMTP_FROM="casehub@rs.example", CASEHUB_WEBHOOK_ALLOW_PRIVATE="true" if allow_private else "false")
        self.out = open(f"{work}/serve.out", "w+")
        self.process = start([binary, "serve"], env=env, stdout=self.out, stderr=open(f"{work}/serve.err", "a"))
        for _ in range(200):
            self.out.seek(0)
            match = re.search(r"listening on (\S+)", self.out.read())
            if match:
                self.base = match.group(1)
                return
            time.sleep(0.05)
        raise SystemExit("the hub did not start: " + open(f"{work}/serve.err").read())

    def call(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read() or b"null")

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def machine_ticks():
    """(idle, total) clock ticks of every core since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return values[3] + values[4], sum(values)


def count(sql, *args):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(sql, args).fetchone()[0]


def requeue(channel):
    with sqlite3.connect(database, timeout=10) as db:
        db.execute("UPDATE deliveries SET status = 'pending', attempts = '[]', attempt_count = 0, schedule_base = 0, "
                   "next_attempt_ms = 0, lease_until_ms = NULL WHERE channel = ?", (channel,))


def drain(hub, channel):
    """Times the hub sending every pending row of `channel`, for at most `seconds`.

    The poll counts the rows still pending on the status index alone, every 20 ms: it must
    cost next to nothing, or it takes from the hub the CPU it measures (counting delivered
    rows of a channel reads every row each time: a tenth of a core)."""
    others = count("SELECT count(*) FROM deliveries WHERE status = 'pending' AND channel != ?", channel)
    begin = time.monotonic()
    cpu_before = hub.cpu_seconds()
    idle_before, total_before = machine_ticks()
    samples = []
    polls = 0
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
        while time.monotonic() - begin < seconds:
            time.sleep(0.02)
            polls += 1
            if polls % 25 == 0:
                samples.append(hub.rss_kb())
            if db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0] <= others:
                break
    elapsed = time.monotonic() - begin
    delivered = count("SELECT count(*) FROM deliveries WHERE channel = ? AND status = 'delivered'", channel)
    cpu_us = (hub.cpu_seconds() - cpu_before) * 1e6 / max(delivered, 1)
    idle_after, total_after = machine_ticks()
    idle = 100 * (idle_after - idle_before) / max(total_after - total_before, 1)
    failed = count("SELECT count(*) FROM deliveries WHERE channel = ? AND attempt_count > 0 AND status != 'delivered'", channel)
    return delivered / elapsed, delivered, failed, samples, cpu_us, idle


def wrk_rate(url):
    script = f"{work}/hook.lua"
    with open(script, "w") as lua:
        body = json.dumps({"id": "evt_x", "type": "message.posted", "case_id": "c" * 36, "thread": "ppa", "seq": 1,
                           "created_at": "2026-11-23T00:00:00.000Z", "data": {"message_id": "m" * 36, "kind": "text"}})
        lua.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n')
    out = subprocess.run(["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{int(seconds)}s", "-s", script, url], capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


try:
    closed = free_port()
    token = subprocess.run([binary, "token", "issue", "--role", "admin", "--name", "bench"], check=True, capture_output=True, text=True,
                           env=dict(os.environ, CASEHUB_DATABASE_URL=f"sqlite://{database}")).stdout.strip()

    # 1. The backlog: every first attempt fails (nothing listens), the next is a day away.
    hub = Hub(smtp_port=closed)
    case = hub.call("POST", "/v1/cases", {"mrn": "RM-BENCH", "patient": {"name": "Budi Santoso"}})["id"]
    hub.call("POST", f"/v1/cases/{case}/participants", {"role": "family", "name": "Ibu Sari", "email": "sari@rs.example"})
    endpoint = hub.call("POST", "/v1/endpoints", {"url": f"http://127.0.0.1:{closed}/hook", "events": ["message.posted"], "roles": ["ppa"]})
    post_script = f"{work}/post.lua"
    with open(post_script, "w") as lua:
        lua.write('wrk.method = "POST"\nwrk.body = \'{"body": "Tekanan darah 120/80, lanjutkan observasi tiap 4 jam."}\'\n'
                  'wrk.headers["Content-Type"] = "application/json"\n'
                  f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    subprocess.run(["wrk", "-t2", "-c32", f"-d{max(4, int(seconds * 0.8))}s", "-s", post_script,
                    f"{hub.base}/v1/cases/{case}/threads/ppa/messages"], check=True, capture_output=True)
    subprocess.run(["wrk", "-t2", "-c32", f"-d{max(2, int(seconds * 0.3))}s", "-s", post_script,
                    f"{hub.base}/v1/cases/{case}/threads/family/messages"], check=True, capture_output=True)
    webhooks = count("SELECT count(*) FROM deliveries WHERE channel = 'webhook'")
    emails = count("SELECT count(*) FROM deliveries WHERE channel = 'email'")
    deadline = time.monotonic() + 120
    while count("SELECT count(*) FROM deliveries WHERE attempt_count = 0") and time.monotonic() < deadline:
        time.sleep(0.5)
    stop(hub.process)

    # 2. Webhooks into nginx.
    nginx_port = free_port()
    with open(f"{work}/nginx.conf", "w") as conf:
        conf.write(f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{nginx_port}; location / {{ return 204; }} }} }}
""")
    nginx = start(["/usr/sbin/nginx", "-c", f"{work}/nginx.conf", "-p", work])
    wait_for_port(nginx_port)
    webhook_ceiling = wrk_rate(f"http://127.0.0.1:{nginx_port}/hook")
    curl_alone = float(subprocess.run([curl_floor, f"http://127.0.0.1:{nginx_port}/hook", str(CONCURRENCY), str(seconds)],
                                      check=True, capture_output=True, text=True).stdout)
    with sqlite3.connect(database, timeout=10) as db:
        db.execute("UPDATE endpoints SET url = ?", (f"http://127.0.0.1:{nginx_port}/hook",))
    requeue("webhook")
    hub = Hub(smtp_port=closed)
    webhook_rate, webhook_done, webhook_failed, webhook_rss, webhook_cpu, webhook_idle = drain(hub, "webhook")
    stop(hub.process)
    stop(nginx)

    # 3. E-mail into smtp-sink.
    sink_port = free_port()
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink will not run as root
    sink = start(["/usr/sbin/smtp-sink", *as_user, "-c", f"127.0.0.1:{sink_port}", "256"], stdout=subprocess.DEVNULL)
    wait_for_port(sink_port)
    mails = 20000
    begin = time.monotonic()
    subprocess.run(["/usr/sbin/smtp-source", "-s", str(SMTP_CONNECTIONS), "-m", str(mails), "-l", "2048", "-f", "casehub@rs.example",
                    "-t", "sari@rs.example", f"127.0.0.1:{sink_port}"], check=True)
    email_ceiling = mails / (time.monotonic() - begin)
    requeue("email")
    hub = Hub(smtp_port=sink_port)
    email_rate, email_done, email_failed, email_rss, email_cpu, email_idle = drain(hub, "email")
    verify = hub.call("GET", f"/v1/cases/{case}/log/verify")
    stop(hub.process)
    stop(sink)

    print()
    print(f"{'channel':<10} {'backlog':>8} {'delivered':>10} {'failed':>7} {'per second':>11} {'ceiling/s':>10} {'of ceiling':>11} {'hub CPU µs each':>16} {'machine idle':>13} {'RSS MiB start → max → end':>28}")
    for name, total, done, failed, rate, ceiling, rss, cpu, idle in [
        ("webhooks", webhooks, webhook_done, webhook_failed, webhook_rate, webhook_ceiling, webhook_rss, webhook_cpu, webhook_idle),
        ("e-mail", emails, email_done, email_failed, email_rate, email_ceiling, email_rss, email_cpu, email_idle),
    ]:
        memory = f"{rss[0] / 1024:.0f} → {max(rss) / 1024:.0f} → {rss[-1] / 1024:.0f}" if rss else "-"
        print(f"{name:<10} {total:>8} {done:>10} {failed:>7} {rate:>11.0f} {ceiling:>10.0f} {100 * rate / ceiling:>10.0f}% {cpu:>16.0f} {idle:>12.0f}% {memory:>28}")
    print(f"\nwebhook ceiling: wrk -c{CONCURRENCY} on nginx (return 204); e-mail ceiling: smtp-source -s {SMTP_CONNECTIONS}, 2 KB messages, on smtp-sink")
    print(f"libcurl alone on the same nginx, one thread, {CONCURRENCY} transfers, no signing or storing: "
          f"{curl_alone:.0f}/s ({100 * curl_alone / webhook_ceiling:.0f}% of the ceiling)")
    print(f"case log after the runs: {verify}")
finally:
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
    shutil.rmtree(work, ignore_errors=True)  # the database and peers' files: gigabytes after a few runs
