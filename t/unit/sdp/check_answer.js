// The peers judge our SDP: Chromium (and libdatachannel, what OBS's WHIP
// output links, when node-datachannel is found) make their offers, the
// unit test binary in its tool mode answers them, and the answers go to
// setRemoteDescription(); our own offer (AMS's WebSocket play) goes the
// other way.  Not part of the unit suite: it needs a browser.
//
//   NODE_PATH=t/browser/node_modules[:.../node-datachannel's] \
//       node t/unit/sdp/check_answer.js build/unit/test_sdp

const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const tool = process.argv[2] || 'build/unit/test_sdp';
const run = (args, input) =>
  execFileSync(tool, args, { input, stdio: ['pipe', 'pipe', 'pipe'] })
    .toString();

let failed = 0;
const report = (name, ok, detail) => {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ': ' + detail : ''}`);
  if (!ok) failed++;
};

async function chromiumChecks() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    await page.goto('file:///dev/null');
    await page.evaluate(async () => {
      window.media = await navigator.mediaDevices.getUserMedia(
        { audio: true, video: { width: 640, height: 360 } });
      window.make = async (kind) => {
        const pc = new RTCPeerConnection();
        if (kind === 'whip') {
          for (const t of media.getTracks()) {
            pc.addTransceiver(t, { direction: 'sendonly', streams: [media] });
          }
        } else if (kind === 'whep') {
          pc.addTransceiver('audio', { direction: 'recvonly' });
          pc.addTransceiver('video', { direction: 'recvonly' });
        } else if (kind === 'mixed') {
          /* audio we cannot take (recvonly to a WHIP server): rejected */
          pc.addTransceiver('audio', { direction: 'recvonly' });
          pc.addTransceiver(media.getVideoTracks()[0],
                            { direction: 'sendonly', streams: [media] });
        } else {
          for (const t of media.getTracks()) pc.addTrack(t, media);
          pc.createDataChannel('data');
        }
        await pc.setLocalDescription(await pc.createOffer());
        window.pc = pc;
        return pc.localDescription.sdp;
      };
      window.accept = async (sdp) => {
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp });
          const t = pc.getTransceivers().map((x) =>
            x.currentDirection || 'none');
          /* what each side will use: the first negotiated codec */
          /* what the browser sends with (a receiver lists all its own) */
          const codecs = pc.getTransceivers().map((x) =>
            x.currentDirection !== 'sendonly' ? 'receives'
              : x.sender.getParameters().codecs.map((k) => k.mimeType
                + (k.sdpFmtpLine ? ' ' + k.sdpFmtpLine : '')).join('|'));
          const sctp = pc.sctp ? ' sctp ' + pc.sctp.maxMessageSize : '';
          pc.close();
          return { ok: true, dirs: t.join(',') + sctp,
                   codecs: codecs.join(' / ') };
        } catch (e) {
          pc.close();
          return { ok: false, error: e.message };
        }
      };
      window.answerOurs = async (sdp) => {
        const pc = new RTCPeerConnection();
        try {
          await pc.setRemoteDescription({ type: 'offer', sdp });
          await pc.setLocalDescription(await pc.createAnswer());
          const dirs = pc.getTransceivers().map((x) => x.currentDirection);
          return { ok: true, sdp: pc.localDescription.sdp,
                   dirs: dirs.join(',') };
        } catch (e) {
          return { ok: false, error: e.message };
        } finally {
          pc.close();
        }
      };
    });

    const cases = [
      ['whip', ['answer', 'whip'], 'recvonly,recvonly'],
      ['whip', ['answer', 'whip', 'twcc'], 'recvonly,recvonly'],
      ['whep', ['answer', 'whep'], 'sendonly,sendonly'],
      ['whep', ['answer', 'whep', 'twcc'], 'sendonly,sendonly'],
      ['adaptor', ['answer', 'whip'], 'recvonly,recvonly'],
      ['adaptor', ['answer', 'whip', 'data'], 'recvonly,recvonly'],
      ['mixed', ['answer', 'whip'], 'recvonly'],   /* audio stopped, gone */
    ];
    for (const [kind, args, want] of cases) {
      const offer = await page.evaluate((k) => make(k), kind);
      let answer;
      try {
        answer = run(args, offer);
      } catch (e) {
        report(`chromium ${kind} ${args.slice(1).join(' ')}`, false,
               e.stderr.toString());
        continue;
      }
      const r = await page.evaluate((a) => accept(a), answer);
      /* currentDirection is the browser's: ours reversed */
      report(`chromium accepts our answer to its ${kind} offer (` +
             args.slice(1).join(' ') + ')',
             r.ok && r.dirs.startsWith(want.replace(/recvonly/g, 'X')
               .replace(/sendonly/g, 'recvonly').replace(/X/g, 'sendonly'))
             && (!args.includes('data') || r.dirs.includes('sctp')),
             r.ok ? r.dirs + ' [' + r.codecs + ']' : r.error);
    }

    const ours = run(['offer'], '');
    const r = await page.evaluate((o) => answerOurs(o), ours);
    report('chromium answers our offer', r.ok, r.ok ? r.dirs : r.error);
    if (r.ok) {
      try {
        const s = run(['select'], r.sdp);
        report('we select from chromium\'s answer', /video 1 pt 102/.test(s),
               s.trim());
      } catch (e) {
        report('we select from chromium\'s answer', false,
               e.stderr.toString());
      }
    }
  } finally {
    await browser.close();
  }
}

async function libdatachannelChecks() {
  let ndc;
  try {
    ndc = require('node-datachannel');
  } catch (e) {
    console.log('# node-datachannel not found: libdatachannel (OBS) skipped');
    return;
  }
  const pc = new ndc.PeerConnection('obs', { iceServers: [] });
  const a = new ndc.Audio('0', 'SendOnly');
  a.addOpusCodec(111);
  a.addSSRC(1234567, 'cname', 'obs', 'obs-audio');
  pc.addTrack(a);
  const v = new ndc.Video('1', 'SendOnly');
  v.addH264Codec(96);
  v.addSSRC(2345678, 'cname', 'obs', 'obs-video');
  pc.addTrack(v);
  const offer = await new Promise((resolve) => {
    pc.onGatheringStateChange((s) => {
      if (s === 'complete') resolve(pc.localDescription().sdp);
    });
    pc.setLocalDescription();
  });
  try {
    const answer = run(['answer', 'whip'], offer);
    pc.setRemoteDescription(answer, 'answer');
    const rd = pc.remoteDescription();
    report('libdatachannel (OBS) accepts our answer',
           rd && rd.type === 'answer', rd ? rd.type : 'none');
  } catch (e) {
    report('libdatachannel (OBS) accepts our answer', false,
           (e.stderr || e.message).toString());
  }
  pc.close();
  ndc.cleanup();
}

(async () => {
  await chromiumChecks();
  await libdatachannelChecks();
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
