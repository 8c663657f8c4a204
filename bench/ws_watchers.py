"""ws_watchers: N websocket clients connected to flowd while it runs flows.

K of them subscribe to flow:<id> of the flow under load and measure, for every node.finished
message, the time from the node finishing (its "at") to the message arriving; the rest
subscribe to topics of flows that do not run (connected, authenticated, idle). Prints
p50/p99/max of that latency and the count. Run with Debian's /usr/bin/python3
(python3-websockets).

  ws_watchers.py PORT TOKEN FLOW_ID N K SECONDS
"""
import asyncio, json, sys, time
import websockets

port, token, flow, n, k, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
lat = []
ready = 0

async def client(i, stop):
    global ready
    url = f"ws://127.0.0.1:{port}/ws?token={token}"
    async with websockets.connect(url, max_size=2**20, open_timeout=60) as ws:
        topic = f"flow:{flow}" if i < k else f"flow:idle_{i}"
        await ws.send(json.dumps({"op": "subscribe", "topic": topic}))
        ready += 1
        while not stop.is_set():
            try:
                m = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            msg = json.loads(m)
            if msg.get("type") == "node.finished" and "at" in msg:
                lat.append(time.time() * 1000 - msg["at"])

async def main():
    stop = asyncio.Event()
    tasks = [asyncio.create_task(client(i, stop)) for i in range(n)]
    while ready < n:
        await asyncio.sleep(0.1)
    print(f"watchers connected={ready}", flush=True)
    await asyncio.sleep(secs)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat.sort()
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
        print(f"watchers node_finished_msgs={len(lat)} p50_ms={p(0.5):.1f} p99_ms={p(0.99):.1f} max_ms={lat[-1]:.1f}")
    else:
        print("watchers node_finished_msgs=0")

asyncio.run(main())
