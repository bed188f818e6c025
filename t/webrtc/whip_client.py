#!/usr/bin/python3
"""A WHIP publisher with aiortc: a synthetic picture (ffmpeg's testsrc
through PyAV's lavfi input) and a 440 Hz tone, sendonly, one POST of the
offer, the answer applied.  Runs --seconds once connected (0: until
SIGTERM or --timeout), then DELETEs the session, and prints one JSON
line: {status, location, connectionState, started, counts: {packets_video,
packets_audio}, stop: {status, again}, errors}; the same object is
written to --status while it runs (done: false).

  /usr/bin/python3 whip_client.py http://127.0.0.1:PORT/App/whip/id \
      [--size 640x360] [--rate 30] [--h264] [--seconds 0] [--status FILE]
"""

import asyncio
import sys

from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.contrib.media import MediaPlayer

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import common                      # noqa: E402


async def main():
    p = common.options("WHIP publisher", 0)
    p.add_argument("--size", default="640x360")
    p.add_argument("--rate", type=int, default=30)
    p.add_argument("--h264", action="store_true",
                   help="offer H.264 only (aiortc offers VP8 first)")
    args = p.parse_args()
    common.use_address(args.local)
    st = common.Status(args.status)
    counts = {"packets_video": 0, "packets_audio": 0}
    st.data["counts"] = counts

    picture = MediaPlayer("testsrc=size=%s:rate=%d" % (args.size, args.rate),
                          format="lavfi")
    senders = {}
    pc = RTCPeerConnection()
    t = pc.addTransceiver(picture.video, direction="sendonly")
    senders["video"] = t.sender
    if args.h264:
        t.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs
             if c.mimeType == "video/H264"])
    if not args.no_audio:
        tone = MediaPlayer("sine=frequency=440:sample_rate=48000",
                           format="lavfi")
        senders["audio"] = pc.addTransceiver(tone.audio,
                                             direction="sendonly").sender

    async def tick():
        for kind, sender in senders.items():
            for s in (await sender.getStats()).values():
                if s.type == "outbound-rtp":
                    counts["packets_" + kind] = s.packetsSent

    await common.run(args, st, pc,
                     started=lambda: pc.connectionState == "connected",
                     on_tick=tick)
    return 0 if st.data["started"] and not st.data["errors"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
