# Writes aiortc's offers (fixtures of t/unit/test_sdp.c) to the directory
# given: a publisher (sendonly audio + video tracks) and a player
# (recvonly audio + video transceivers).  Debian's python3-aiortc 1.4.
#
#   /usr/bin/python3 t/unit/sdp/gen_aiortc.py DIR

import asyncio
import os
import sys

from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack


async def offer(publish):
    pc = RTCPeerConnection()
    if publish:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    else:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    for name, publish in (("aiortc_publish", True), ("aiortc_play", False)):
        with open(os.path.join(d, name + ".sdp"), "w", newline="") as f:
            f.write(await offer(publish))


asyncio.run(main())
