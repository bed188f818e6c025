// What whip.html and whep.html share: one RTCPeerConnection, the offer
// POSTed to ?url= as application/sdp (WHIP/WHEP: one request, the answer
// in its body, the session's URL in Location), the answer applied, and
// what the test runner (webrtc.js) reads: window.amsWebrtc.report() (the
// state, the transport, the inbound-rtp and outbound-rtp statistics) and
// window.amsWebrtc.stop() (DELETE of the session, then the packets that
// still arrive).  Query: url, token (Authorization: Bearer), gather=1
// (wait for ICE gathering before the POST, as non-trickle clients do).

window.amsWebrtc = (() => {
  const q = new URLSearchParams(location.search);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const state = {
    phase: 'init', status: 0, location: null, etag: null, link: null,
    answer: '', errors: [], warnings: [], connectionState: 'new',
    iceConnectionState: 'new', postAt: null, connectedAt: null,
    firstFrameAt: null, states: [],
  };
  const t0 = Date.now();
  const w = { state, pc: null, extra: () => ({}), afterAnswer: null, t0 };

  function auth() {
    return q.get('token') ? { Authorization: 'Bearer ' + q.get('token') } : {};
  }

  function gathered(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return Promise.race([
      sleep(ms),
      new Promise((r) => pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') r();
      })),
    ]);
  }

  w.start = async (setup) => {
    try {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      w.pc = pc;
      pc.onconnectionstatechange = () => {
        state.connectionState = pc.connectionState;
        state.states.push([Date.now() - t0, pc.connectionState]);
        if (pc.connectionState === 'connected' && state.connectedAt === null) {
          state.connectedAt = Date.now() - t0;
        }
      };
      pc.oniceconnectionstatechange = () => {
        state.iceConnectionState = pc.iceConnectionState;
      };

      state.phase = 'media';
      await setup(pc);

      state.phase = 'offer';
      await pc.setLocalDescription(await pc.createOffer());
      if (q.get('gather') === '1') await gathered(pc, 3000);

      state.phase = 'post';
      state.postAt = Date.now() - t0;
      const r = await fetch(q.get('url'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...auth() },
        body: pc.localDescription.sdp,
      });
      state.status = r.status;
      state.location = r.headers.get('Location');
      state.etag = r.headers.get('ETag');
      state.link = r.headers.get('Link');
      const body = await r.text();
      if (r.status !== 201) {
        state.phase = 'refused';
        state.errors.push('POST ' + r.status + ': ' + body.slice(0, 300));
        return;
      }

      state.phase = 'answer';
      state.answer = body;
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      if (w.afterAnswer) await w.afterAnswer(pc);
      state.phase = 'negotiated';
    } catch (e) {
      state.errors.push(state.phase + ': ' + e.message);
    }
  };

  w.stats = async () => {
    const out = { video: {}, audio: {}, sentVideo: {}, sentAudio: {},
                  transport: {} };
    if (!w.pc) return out;
    const rep = await w.pc.getStats();
    const codecs = {};
    rep.forEach((s) => {
      if (s.type === 'codec') codecs[s.id] = s.mimeType;
    });
    rep.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        Object.assign(s.kind === 'video' ? out.video : out.audio, {
          packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
          packetsLost: s.packetsLost, framesDecoded: s.framesDecoded,
          keyFramesDecoded: s.keyFramesDecoded, frameWidth: s.frameWidth,
          frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond,
          totalAudioEnergy: s.totalAudioEnergy, audioLevel: s.audioLevel,
          totalSamplesReceived: s.totalSamplesReceived,
          concealedSamples: s.concealedSamples, nackCount: s.nackCount,
          pliCount: s.pliCount, codec: codecs[s.codecId],
        });
      } else if (s.type === 'outbound-rtp') {
        Object.assign(s.kind === 'video' ? out.sentVideo : out.sentAudio, {
          packetsSent: s.packetsSent, bytesSent: s.bytesSent,
          framesEncoded: s.framesEncoded, framesSent: s.framesSent,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          qualityLimitationReason: s.qualityLimitationReason,
          retransmittedPacketsSent: s.retransmittedPacketsSent,
          nackCount: s.nackCount, pliCount: s.pliCount,
          codec: codecs[s.codecId],
        });
      } else if (s.type === 'transport') {
        out.transport.dtlsState = s.dtlsState;
        out.transport.srtpCipher = s.srtpCipher;
        out.transport.dtlsRole = s.dtlsRole;
        const pair = rep.get(s.selectedCandidatePairId);
        const remote = pair && rep.get(pair.remoteCandidateId);
        if (remote) out.transport.remote = remote.address + ':' + remote.port;
      }
    });
    return out;
  };

  w.report = async () => ({
    ...state, t: Date.now() - t0, ...(await w.stats()), ...w.extra(),
  });

  // DELETE the session; then whether media still arrives (packets
  // received half a second after the DELETE and two seconds after), and
  // what a second DELETE gets
  w.stop = async () => {
    const res = { status: 0, again: 0, packets: [] };
    const count = (s) => (s.video.packetsReceived || 0)
                         + (s.audio.packetsReceived || 0);
    if (state.location) {
      const url = new URL(state.location, q.get('url')).href;
      try {
        const r = await fetch(url, { method: 'DELETE', headers: auth() });
        res.status = r.status;
        await sleep(500);
        res.packets.push(count(await w.stats()));
        await sleep(1500);
        res.packets.push(count(await w.stats()));
        const r2 = await fetch(url, { method: 'DELETE', headers: auth() });
        res.again = r2.status;
      } catch (e) {
        res.error = e.message;
      }
    }
    if (w.pc) w.pc.close();
    return res;
  };

  return w;
})();
