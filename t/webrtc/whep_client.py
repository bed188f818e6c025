#!/usr/bin/python3
"""A WHEP player with aiortc: recvonly video and audio, one POST of the
offer, the answer applied; it decodes what arrives and counts it.  Runs
--seconds once a video frame was decoded, then DELETEs the session
(and counts what still arrives after that), and prints one JSON line:

  {status, location, connectionState, started,
   counts: {video_frames, width, height, heights (each new one, in
            order), audio_frames, audio_rms},
   first: counts when started, last: counts at the end,
   stop: {status, frames_after: [+0.5 s, +2 s], again}, errors}

The same object is written to --status while it runs (done: false).

  /usr/bin/python3 whep_client.py http://127.0.0.1:PORT/App/whep/id \
      [--seconds 3] [--timeout 30] [--status FILE] [--token T]

(?streamHeight=N on the URL asks for a rung.)
"""

import asyncio
import sys

import numpy
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import common                      # noqa: E402


async def main():
    args = common.options("WHEP player", 3).parse_args()
    common.use_address(args.local)
    st = common.Status(args.status)
    counts = {"video_frames": 0, "width": 0, "height": 0, "heights": [],
              "audio_frames": 0, "audio_rms": 0.0}
    st.data["counts"] = counts
    tasks = []

    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    if not args.no_audio:
        pc.addTransceiver("audio", direction="recvonly")

    async def video(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            counts["video_frames"] += 1
            counts["width"], counts["height"] = frame.width, frame.height
            if not counts["heights"] or counts["heights"][-1] != frame.height:
                counts["heights"].append(frame.height)

    async def audio(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            counts["audio_frames"] += 1
            pcm = frame.to_ndarray().astype(numpy.float64) / 32768.0
            rms = float(numpy.sqrt(numpy.mean(pcm * pcm))) if pcm.size else 0
            counts["audio_rms"] = max(counts["audio_rms"], rms)

    @pc.on("track")
    def on_track(track):
        tasks.append(asyncio.ensure_future(
            video(track) if track.kind == "video" else audio(track)))

    async def after_delete():
        frames = []
        for wait in (0.5, 1.5):
            await asyncio.sleep(wait)
            frames.append(counts["video_frames"])
        return {"frames_after": frames}

    await common.run(args, st, pc,
                     started=lambda: counts["video_frames"] > 0,
                     after_delete=after_delete)
    for t in tasks:
        t.cancel()
    return 0 if st.data["started"] and not st.data["errors"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
