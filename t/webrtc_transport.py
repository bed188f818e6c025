#!/usr/bin/python3
"""A WHIP or WHEP peer for t/webrtc_transport.t: aiortc offers, POSTs the
offer, takes the answer and reports, one JSON line each, when ICE and DTLS
connect (and how many RTP packets arrived when it plays).

    webrtc_transport.py whep|whip URL [--hold S] [--delete] [--timeout S]
    webrtc_transport.py offer -      (prints a WHIP offer and exits)
"""

import argparse
import asyncio
import json
import sys
import time
import urllib.request
import urllib.error

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack


def say(**kw):
    if QUIET:
        return
    kw['t'] = round(time.monotonic() - START, 3)
    print(json.dumps(kw), flush=True)


def http(method, url, body=None, ctype=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header('Content-Type', ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('kind', choices=['whep', 'whip', 'offer'])
    ap.add_argument('url')
    ap.add_argument('--hold', type=float, default=1.0)
    ap.add_argument('--timeout', type=float, default=15.0)
    ap.add_argument('--delete', action='store_true')
    a = ap.parse_args()

    pc = RTCPeerConnection()
    done = asyncio.Event()
    got = {'rtp': 0}

    if a.kind == 'whep':
        pc.addTransceiver('video', direction='recvonly')
        pc.addTransceiver('audio', direction='recvonly')
    else:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())

    @pc.on('connectionstatechange')
    async def on_state():
        say(event='connection', state=pc.connectionState)
        if pc.connectionState in ('connected', 'failed', 'closed'):
            done.set()

    @pc.on('track')
    def on_track(track):
        async def drain():
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                got[track.kind] = got.get(track.kind, 0) + 1
        asyncio.ensure_future(drain())

    @pc.on('iceconnectionstatechange')
    async def on_ice():
        say(event='ice', state=pc.iceConnectionState)

    await pc.setLocalDescription(await pc.createOffer())
    if a.kind == 'offer':
        global QUIET
        QUIET = True
        sys.stdout.write(pc.localDescription.sdp)
        sys.stdout.flush()
        await pc.close()
        return 0

    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(
        None, http, 'POST', a.url, pc.localDescription.sdp.encode(),
        'application/sdp')
    say(event='post', status=status, location=headers.get('Location'),
        etag=headers.get('ETag'),
        cors=headers.get('Access-Control-Allow-Origin'))
    if status != 201:
        say(event='refused', body=body)
        await pc.close()
        return 1

    await pc.setRemoteDescription(RTCSessionDescription(body, 'answer'))

    try:
        await asyncio.wait_for(done.wait(), a.timeout)
    except asyncio.TimeoutError:
        say(event='timeout', state=pc.connectionState)

    if pc.connectionState == 'connected':
        await asyncio.sleep(a.hold)
        say(event='held', state=pc.connectionState,
            video=got.get('video', 0), audio=got.get('audio', 0))

    if a.delete:
        base = a.url.split('/', 3)
        url = base[0] + '//' + base[2] + headers['Location']
        status, _, _ = await loop.run_in_executor(None, http, 'DELETE', url)
        say(event='delete', status=status)

    await pc.close()
    return 0


QUIET = False
START = time.monotonic()
sys.exit(asyncio.run(main()))
