#!/usr/bin/python3
"""http_sink: a loopback HTTP server that records every request and answers as scripted.

Usage: http_sink.py --port PORT --log FILE [--control FILE]

Each request (except GET /__health, which answers 200 for readiness checks) is appended to
FILE as one JSON line: {"n", "method", "path", "query", "headers" (lower-case names), "body",
"status" (what the sink answered)}, written and flushed before the answer goes out.

The answer is scripted by the control file (JSON, re-read on every request; absent: 200):
  {"fail_first": N, "fail_status": 503, "status": 200, "delay_ms": 0,
   "retry_after": "1", "response": <JSON body>}
The first N requests get fail_status, the rest get status. Query parameters of the request
override it per request: ?status=400, ?fail_first=2 (counted per path), ?delay_ms=100.
Standard library only; meant for Debian's /usr/bin/python3.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
COUNT = {"all": 0}
PER_PATH = {}


def load_control(path):
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: curl reuses connections like a real gateway

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def decide(self, query, n, n_path):
        ctl = load_control(self.server.control)
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        fail_first = int(q.get("fail_first", ctl.get("fail_first", 0)))
        count = n_path if "fail_first" in q else n
        status = int(ctl.get("status", 200))
        if count <= fail_first:
            status = int(ctl.get("fail_status", 503))
        if "status" in q:
            status = int(q["status"])
        delay = int(q.get("delay_ms", ctl.get("delay_ms", 0)))
        return status, delay, ctl

    def handle_any(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if url.path == "/__health":
            return self.answer(200, {"ok": True}, None)
        with LOCK:
            COUNT["all"] += 1
            n = COUNT["all"]
            PER_PATH[url.path] = PER_PATH.get(url.path, 0) + 1
            n_path = PER_PATH[url.path]
        status, delay, ctl = self.decide(url.query, n, n_path)
        record = {"n": n, "method": self.command, "path": url.path, "query": url.query,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body, "status": status, "t": time.time()}
        with LOCK:
            self.server.log.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.server.log.flush()
        if delay:
            time.sleep(delay / 1000.0)
        retry_after = ctl.get("retry_after") if status in (429, 503) else None
        self.answer(status, ctl.get("response", {"ok": status < 400, "n": n}), retry_after)

    def answer(self, status, payload, retry_after):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", "sink-%d" % COUNT["all"])
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default 5 refuses connections when 200 sends arrive at once
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--control")
    args = ap.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.log = open(args.log, "a", encoding="utf-8")
    server.control = args.control
    server.serve_forever()


if __name__ == "__main__":
    main()
