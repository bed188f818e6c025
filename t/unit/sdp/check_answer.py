# aiortc 1.4 (Debian's python3-aiortc) judges our SDP: its publish and play
# offers answered by the unit test binary's tool mode and given to
# setRemoteDescription(); our own offer (AMS's WebSocket play) answered
# by aiortc and selected from by us.  Not part of the unit suite.
#
#   /usr/bin/python3 t/unit/sdp/check_answer.py build/unit/test_sdp

import asyncio
import subprocess
import sys

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

TOOL = sys.argv[1] if len(sys.argv) > 1 else "build/unit/test_sdp"
failed = 0


def report(name, good, detail=""):
    global failed
    print("%s - %s%s" % ("ok" if good else "not ok", name,
                         ": " + detail if detail else ""))
    if not good:
        failed += 1


def tool(args, text):
    r = subprocess.run([TOOL] + args, input=text.encode(),
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode().strip())
    return r.stdout.decode()


async def answer_check(name, publish, args):
    pc = RTCPeerConnection()
    if publish:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    else:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    try:
        answer = tool(args, pc.localDescription.sdp)
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer, type="answer"))
        t = pc.getTransceivers()
        dirs = ",".join(x.currentDirection or "-" for x in t)
        codecs = ",".join(
            "%s/%s" % (c.mimeType, c.parameters.get("profile-level-id", ""))
            for x in t for c in x._codecs[:1])
        want = "sendonly,sendonly" if publish else "recvonly,recvonly"
        report(name, dirs == want and "video/H264/42e01f" in codecs,
               dirs + " " + codecs)
    except Exception as e:  # noqa: BLE001 - any refusal is the finding
        report(name, False, repr(e))
    await pc.close()


async def offer_check():
    pc = RTCPeerConnection()
    try:
        offer = tool(["offer"], "")
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=offer, type="offer"))
        for t in pc.getTransceivers():
            t.direction = "recvonly"
        await pc.setLocalDescription(await pc.createAnswer())
        report("aiortc answers our offer", True)
        s = tool(["select"], pc.localDescription.sdp)
        report("we select from aiortc's answer", "video 1 pt 102" in s,
               s.strip())
    except Exception as e:  # noqa: BLE001
        report("aiortc and our offer", False, repr(e))
    await pc.close()


async def main():
    # closing before ICE completes leaves aiortc's connect task failing
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
    await answer_check("aiortc publish accepts our answer", True,
                       ["answer", "whip"])
    await answer_check("aiortc publish accepts our answer (twcc)", True,
                       ["answer", "whip", "twcc"])
    await answer_check("aiortc play accepts our answer", False,
                       ["answer", "whep"])
    await offer_check()


asyncio.run(main())
sys.exit(1 if failed else 0)
