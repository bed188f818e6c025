#!/usr/bin/python3
"""An aiortc peer with a data channel: a WHIP publisher (a small H.264
picture, sendonly) or a WHEP player (recvonly video), each opening a
data channel "chat" in its offer.  Once the channel is open it sends
"NAME:N" every 0.25 s (N from 1), with --big N a message of 300000
bytes (over the server's 262144) after its N-th, with --burst M M
messages "NAME:bI" at once after its third, and keeps what arrives.  Runs --seconds once --expect messages arrived (0: until
SIGTERM), then DELETEs, and prints one JSON line:

  {status, connectionState, started,
   counts: {sent, received, big_sent, channel},
   received: ["NAME:N", "NAME:bI" or "<N bytes>", ...], errors}

The same object is written to --status while it runs.

  /usr/bin/python3 datachannel.py http://127.0.0.1:PORT/App/whip/id \
      --kind whip --name pub [--expect 3] [--big 2] [--seconds 0]
"""

import asyncio
import sys

from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.contrib.media import MediaPlayer

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import common                      # noqa: E402


async def main():
    p = common.options("data channel peer", 0)
    p.add_argument("--kind", choices=("whip", "whep"), required=True)
    p.add_argument("--name", default="peer")
    p.add_argument("--expect", type=int, default=3,
                   help="messages to receive before --seconds count")
    p.add_argument("--big", type=int, default=0,
                   help="after this many sent, one of 300000 bytes")
    p.add_argument("--burst", type=int, default=0,
                   help="after 3 sent, this many more at once (NAME:bN)")
    args = p.parse_args()
    common.use_address(args.local)
    st = common.Status(args.status)
    counts = {"sent": 0, "received": 0, "big_sent": 0, "channel": "new"}
    received = []
    st.data["counts"] = counts
    st.data["received"] = received

    pc = RTCPeerConnection()
    if args.kind == "whip":
        picture = MediaPlayer("testsrc=size=160x120:rate=10", format="lavfi")
        t = pc.addTransceiver(picture.video, direction="sendonly")
        t.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs
             if c.mimeType == "video/H264"])
    else:
        pc.addTransceiver("video", direction="recvonly")

        @pc.on("track")
        def _track(track):
            async def drain():
                while True:
                    try:
                        await track.recv()
                    except Exception:
                        return
            asyncio.ensure_future(drain())

    dc = pc.createDataChannel("chat")

    @dc.on("open")
    def _open():
        counts["channel"] = "open"

    @dc.on("close")
    def _close():
        counts["channel"] = "closed"

    @dc.on("message")
    def _message(m):
        counts["received"] += 1
        if len(m) > 100:
            received.append("<%d bytes>" % len(m))
        else:
            received.append(m if isinstance(m, str) else repr(m))

    async def tick():
        if dc.readyState != "open":
            return
        counts["sent"] += 1
        dc.send("%s:%d" % (args.name, counts["sent"]))
        if args.big and counts["sent"] == args.big and not counts["big_sent"]:
            dc.send("x" * 300000)
            counts["big_sent"] = 1
        if args.burst and counts["sent"] == 3:
            for i in range(args.burst):
                dc.send("%s:b%d" % (args.name, i))
            counts["burst_sent"] = args.burst

    await common.run(args, st, pc,
                     started=lambda: counts["received"] >= args.expect,
                     on_tick=tick)
    return 0 if st.data["started"] and not st.data["errors"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
