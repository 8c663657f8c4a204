#!/usr/bin/python3
"""ws_client: a websocket client for flowd's tests (tests/integration/test_ws.c drives it).

Run it with Debian's /usr/bin/python3 (python3-websockets 10.4). It connects to URL,
subscribes to every --sub topic and waits for the answers, prints {"client":"ready"}, and then
prints every message it receives as one line on stdout, exactly as the server sent it.

Lines on stdin are commands: a line starting with "{" (or anything after "send ") is sent as
a text frame; "pause" stops reading, "resume" reads again, "close" closes. With --paused the
client starts paused after ready and then reads nothing at all (the library holds at most one
message and --read-limit bytes, the socket about --rcvbuf), so the server's queue for it
fills up.

It ends after --count messages received after ready, when a message of --until-type arrives,
at --timeout seconds, or when the server closes, and prints one last line saying which:
{"client":"done"|"timeout"|"closed","code":C,"reason":R}. A refused handshake prints
{"client":"refused","status":S}. Exit codes: 0 done, 2 refused, 3 timeout, 4 closed.
"""
import argparse
import asyncio
import json
import os
import socket
import stat
import sys
from urllib.parse import urlparse

import websockets


def out(obj):
    sys.stdout.write(obj if isinstance(obj, str) else json.dumps(obj))
    sys.stdout.write("\n")
    sys.stdout.flush()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--sub", action="append", default=[], help="topic to subscribe to")
    p.add_argument("--send", action="append", default=[], help="frame to send after ready")
    p.add_argument("--send-big", type=int, default=0, help="send a frame of this many bytes")
    p.add_argument("--header", action="append", default=[], help='"Name: value"')
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--until-type", default=None)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--paused", action="store_true", help="read nothing after ready")
    p.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF of the socket")
    p.add_argument("--read-limit", type=int, default=2**16)
    return p.parse_args()


def open_socket(url, rcvbuf):
    u = urlparse(url)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((u.hostname, u.port or 80))
    s.setblocking(False)
    return s


def probe_status(url, headers):
    """The status of a bare upgrade request to url. websockets gives up on answers that are not
    HTTP/1.1, and lws answers a refused upgrade with HTTP/1.0."""
    u = urlparse(url)
    path = u.path + ("?" + u.query if u.query else "")
    req = (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n")
    try:
        with socket.create_connection((u.hostname, u.port or 80), timeout=5) as s:
            s.sendall(req.encode())
            parts = s.makefile("rb").readline().decode("latin-1").split()
    except OSError:
        return 0
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def connect(a):
    headers = [tuple(h.split(": ", 1)) for h in a.header]
    kw = {}
    if a.rcvbuf:
        kw["sock"] = open_socket(a.url, a.rcvbuf)
    return await websockets.connect(
        a.url, extra_headers=headers, ping_interval=None, max_size=2**22,
        max_queue=1 if a.paused else 2**10, read_limit=a.read_limit, **kw)


async def subscribe(ws, topics):
    """Sends the subscriptions and waits for one answer (subscribed or error) to each."""
    for t in topics:
        await ws.send(json.dumps({"op": "subscribe", "topic": t}))
    answers = 0
    while answers < len(topics):
        text = await ws.recv()
        out(text)
        if json.loads(text).get("type") in ("subscribed", "error"):
            answers += 1


async def commands(ws, reading):
    """Follows stdin until it ends."""
    if not stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        return  # a terminal or /dev/null: no commands
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode()
        if not line:
            return
        line = line.strip()
        if line == "pause":
            reading.clear()
        elif line == "resume":
            reading.set()
        elif line == "close":
            await ws.close()
            return
        elif line.startswith("send "):
            await ws.send(line[5:])
        elif line.startswith("{"):
            await ws.send(line)


async def receive(ws, a, reading):
    """Prints messages until --count or --until-type; returns the exit line."""
    got = 0
    while True:
        await reading.wait()
        text = await ws.recv()
        out(text)
        got += 1
        if a.count and got >= a.count:
            return {"client": "done"}
        if a.until_type and json.loads(text).get("type") == a.until_type:
            return {"client": "done"}


async def session(a):
    try:
        ws = await connect(a)
    except websockets.exceptions.InvalidStatusCode as e:
        out({"client": "refused", "status": e.status_code})
        return 2
    except (websockets.exceptions.InvalidHandshake, OSError, EOFError) as e:
        status = probe_status(a.url, a.header)
        out({"client": "refused", "status": status} if status else
            {"client": "refused", "status": 0, "error": str(e)})
        return 2
    reading = asyncio.Event()
    if not a.paused:
        reading.set()
    try:
        await subscribe(ws, a.sub)
        out({"client": "ready"})
        for f in a.send:
            await ws.send(f)
        if a.send_big:
            await ws.send('{"op":"subscribe","topic":"' + "x" * a.send_big + '"}')
        cmd = asyncio.create_task(commands(ws, reading))
        try:
            last = await receive(ws, a, reading)
        finally:
            cmd.cancel()
        out(last)
        await ws.close()
        return 0
    except websockets.exceptions.ConnectionClosed as e:
        out({"client": "closed", "code": e.code, "reason": e.reason})
        return 4


async def main():
    a = parse_args()
    try:
        return await asyncio.wait_for(session(a), a.timeout)
    except asyncio.TimeoutError:
        out({"client": "timeout"})
        return 3


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
