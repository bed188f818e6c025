#!/usr/bin/python3
"""An Ant Media WebSocket player (aiortc) that moves between rungs:
play (automatic for --auto seconds: the heights decoded meanwhile are
auto_heights), then getStreamInfo, then for each --heights H in turn
forceStreamQuality H until frames of that height are decoded (--step
seconds at most each), then forceStreamQuality 0 (automatic) and stop.
Prints one JSON line (and keeps it in --status while it runs):

  {started, auto_heights, streamInfo,
   steps: [{height, reached, ms, frames}],
   heights (each new decoded height, in order), errors, done}

  /usr/bin/python3 ams_abr_client.py ws://127.0.0.1:PORT/App/websocket \
      STREAM --heights 144,360 [--auto 0] [--step 10] [--timeout 40]
      [--status F]
"""

import argparse
import asyncio
import base64
import json
import os
import struct
import sys
import time
import urllib.parse

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import common                      # noqa: E402


class WebSocket:
    """The least of RFC 6455 a text client needs: masked text frames out,
    text frames in (pings answered)."""

    async def connect(self, url):
        u = urllib.parse.urlparse(url)
        self.r, self.w = await asyncio.open_connection(u.hostname, u.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.w.write(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n"
                      % (u.path, u.netloc, key)).encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("no upgrade: %r" % head[:100])

    def send(self, obj, opcode=1):
        data = json.dumps(obj).encode() if opcode == 1 else obj
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.w.write(hdr + mask + body)

    async def recv(self):
        while True:
            b0, b1 = await self.r.readexactly(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", await self.r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.r.readexactly(8))[0]
            data = await self.r.readexactly(n)
            op = b0 & 0x0f
            if op == 9:
                self.send(data, opcode=10)
            elif op == 8:
                raise EOFError("closed by the server")
            elif op == 1:
                return json.loads(data)


async def main():
    p = argparse.ArgumentParser(description="AMS WebSocket ABR player")
    p.add_argument("url")
    p.add_argument("stream")
    p.add_argument("--heights", default="")
    p.add_argument("--step", type=float, default=10)
    p.add_argument("--auto", type=float, default=0)
    p.add_argument("--timeout", type=float, default=40)
    p.add_argument("--status")
    p.add_argument("--local", default="127.0.0.1")
    args = p.parse_args()
    common.use_address(args.local)
    st = common.Status(args.status)
    st.data.update(heights=[], steps=[], streamInfo=None, frames=0)
    heights = st.data["heights"]
    tasks = []
    pc = RTCPeerConnection()
    ws = WebSocket()
    messages = asyncio.Queue()

    async def video(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            st.data["frames"] += 1
            if not heights or heights[-1] != frame.height:
                heights.append(frame.height)
            st.data["height"] = frame.height

    @pc.on("track")
    def on_track(track):
        if track.kind == "video":
            tasks.append(asyncio.ensure_future(video(track)))

    async def reader():
        while True:
            m = await ws.recv()
            if m.get("command") == "takeConfiguration":
                await pc.setRemoteDescription(RTCSessionDescription(
                    sdp=m["sdp"], type=m["type"]))
                await pc.setLocalDescription(await pc.createAnswer())
                ws.send({"command": "takeConfiguration",
                         "streamId": args.stream, "type": "answer",
                         "sdp": pc.localDescription.sdp})
            elif m.get("command") == "streamInformation":
                st.data["streamInfo"] = m.get("streamInfo")
            elif m.get("command") == "error":
                st.data["errors"].append(m.get("definition"))
            await messages.put(m)

    async def until(check, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if check():
                return True
            st.write()
            await asyncio.sleep(0.1)
        return False

    try:
        await ws.connect(args.url)
        tasks.append(asyncio.ensure_future(reader()))
        ws.send({"command": "play", "streamId": args.stream})
        st.data["started"] = await until(lambda: st.data["frames"] > 0,
                                         args.timeout / 2)
        if st.data["started"]:
            await until(lambda: False, args.auto)
            st.data["auto_heights"] = list(heights)
            ws.send({"command": "getStreamInfo", "streamId": args.stream})
            await until(lambda: st.data["streamInfo"] is not None, 5)
            for h in [int(x) for x in args.heights.split(",") if x]:
                t0 = time.monotonic()
                ws.send({"command": "forceStreamQuality",
                         "streamId": args.stream, "streamHeight": h})
                ok = await until(lambda: st.data.get("height") == h,
                                 args.step)
                st.data["steps"].append(
                    {"height": h, "reached": ok, "frames": st.data["frames"],
                     "ms": int((time.monotonic() - t0) * 1000)})
                # frames keep coming at that height
                await until(lambda: False, 1)
            ws.send({"command": "forceStreamQuality",
                     "streamId": args.stream, "streamHeight": 0})
            await until(lambda: False, 1)
        ws.send({"command": "stop", "streamId": args.stream})
    except Exception as e:          # reported, not raised: the test reads it
        st.data["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        for t in tasks:
            t.cancel()
        await pc.close()
        st.data["done"] = True
        st.write()
        print(json.dumps(st.data), flush=True)
    return 0 if st.data["started"] and not st.data["errors"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
