"""What the aiortc test clients share (t/webrtc/whep_client.py,
whip_client.py): their options, ICE on the loopback address, the
WHIP/WHEP requests, and the status file a test polls while they run.

Run with Debian's python3 (python3-aiortc 1.4): /usr/bin/python3.
"""

import argparse
import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice
from aiortc import RTCSessionDescription


def options(description, seconds):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("url", help="the WHIP or WHEP endpoint")
    p.add_argument("--token", help="sent as Authorization: Bearer")
    p.add_argument("--seconds", type=float, default=seconds,
                   help="how long to run once started (0: until SIGTERM)")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--status", help="a file rewritten with the state")
    p.add_argument("--local", default="127.0.0.1",
                   help="the address ICE gathers (aioice skips loopback)")
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--no-stop", action="store_true",
                   help="end without the DELETE")
    return p


def use_address(address):
    """aioice gathers every address but 127.0.0.1: the tests' server is
    on loopback, and a machine may have no other interface."""
    def hosts(use_ipv4=True, use_ipv6=True):
        return [address]
    aioice.ice.get_host_addresses = hosts


def request(method, url, body=None, content_type=None, token=None):
    """(status, headers (lower-case names), body text)"""
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return (r.status, {k.lower(): v for k, v in r.headers.items()},
                    r.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return (e.code, {k.lower(): v for k, v in e.headers.items()},
                e.read().decode("utf-8", "replace"))


async def arequest(*args, **kw):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: request(*args, **kw))


class Status:
    """The state, written whole (by rename) to the status file."""

    def __init__(self, path):
        self.path = path
        self.t0 = time.monotonic()
        self.data = {"done": False, "errors": [], "status": 0,
                     "location": None, "connectionState": "new",
                     "started": False}

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def write(self):
        self.data["t"] = self.ms()
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(self.data) + "\n")
        os.replace(tmp, self.path)


def stop_on_signals(event):
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)


async def offer_answer(pc, args, st):
    """POST the offer, apply the answer: True when negotiated."""
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await arequest(
        "POST", args.url, pc.localDescription.sdp.encode(),
        "application/sdp", args.token)
    st.data["status"] = status
    st.data["location"] = headers.get("location")
    st.data["etag"] = headers.get("etag")
    if status != 201:
        st.data["errors"].append("POST %d: %s" % (status, body[:300]))
        return False
    st.data["answer"] = body
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body,
                                                        type="answer"))
    return True


async def delete(args, st):
    loc = st.data.get("location")
    if not loc:
        return 0
    url = urllib.parse.urljoin(args.url, loc)
    status, _, _ = await arequest("DELETE", url, token=args.token)
    return status


async def run(args, st, pc, started, on_tick=None, after_delete=None):
    """Follow the session until started() has held for args.seconds (or
    SIGTERM, or the timeout, or a failure), then DELETE it."""
    stop = asyncio.Event()
    stop_on_signals(stop)

    @pc.on("connectionstatechange")
    def _state():
        st.data["connectionState"] = pc.connectionState
        if pc.connectionState == "connected" and "connectedAt" not in st.data:
            st.data["connectedAt"] = st.ms()

    deadline = time.monotonic() + args.timeout
    began = None
    try:
        if await offer_answer(pc, args, st):
            while not stop.is_set() and time.monotonic() < deadline:
                if on_tick:
                    await on_tick()
                if began is None and started():
                    began = time.monotonic()
                    st.data["started"] = True
                    st.data["first"] = dict(st.data.get("counts", {}),
                                            t=st.ms())
                st.write()
                if pc.connectionState in ("failed", "closed"):
                    st.data["errors"].append("connection " + pc.connectionState)
                    break
                if (began is not None and args.seconds > 0
                        and time.monotonic() - began >= args.seconds):
                    break
                try:
                    await asyncio.wait_for(stop.wait(), 0.25)
                except asyncio.TimeoutError:
                    pass
            st.data["last"] = dict(st.data.get("counts", {}), t=st.ms())

            if not args.no_stop:
                res = {"status": await delete(args, st)}
                if after_delete:
                    res.update(await after_delete())
                res["again"] = await delete(args, st)
                st.data["stop"] = res
    except Exception as e:          # reported, not raised: the test reads it
        st.data["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        await pc.close()
        st.data["done"] = True
        st.write()
        print(json.dumps({k: v for k, v in st.data.items()
                          if k != "answer"}), flush=True)
