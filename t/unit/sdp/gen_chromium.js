// Writes Chromium's offers (the fixtures of t/unit/test_sdp.c) to the
// directory given: a WHIP publisher (sendonly camera + mic transceivers),
// a WHEP player (recvonly audio + video), and what Ant Media's
// webrtc_adaptor sends to publish (addTrack, sendrecv, a data channel).
//
// With the unit test binary as a second argument, also Chromium's answer to
// our own offer (AMS's WebSocket play), munged as webrtc_adaptor munges it
// ("useinbandfec=1; stereo=1").
//
//   NODE_PATH=t/browser/node_modules node t/unit/sdp/gen_chromium.js DIR \
//       [build/unit/test_sdp]

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

(async () => {
  const dir = process.argv[2] || '.';
  const tool = process.argv[3];
  const ours = tool ? execFileSync(tool, ['offer']).toString() : null;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    await page.goto('file:///dev/null');
    const offers = await page.evaluate(async (ours) => {
      const gather = (pc) => new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => {
          if (pc.iceGatheringState === 'complete') resolve();
        };
        setTimeout(resolve, 3000);
      });
      const out = {};
      const media = await navigator.mediaDevices.getUserMedia(
        { audio: true, video: { width: 640, height: 360 } });

      let pc = new RTCPeerConnection();
      for (const t of media.getTracks()) {
        pc.addTransceiver(t, { direction: 'sendonly', streams: [media] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gather(pc);
      out.whip = pc.localDescription.sdp;
      pc.close();

      pc = new RTCPeerConnection();
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await gather(pc);
      out.whep = pc.localDescription.sdp;
      pc.close();

      /* max-bundle: the second section is bundle-only, port 0 */
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const t of media.getTracks()) {
        pc.addTransceiver(t, { direction: 'sendonly', streams: [media] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gather(pc);
      out.whip_maxbundle = pc.localDescription.sdp;
      pc.close();

      pc = new RTCPeerConnection();
      for (const t of media.getTracks()) pc.addTrack(t, media);
      pc.createDataChannel('test', { ordered: true });
      await pc.setLocalDescription(await pc.createOffer());
      out.adaptor = pc.localDescription.sdp;   /* trickled: no candidates */
      pc.close();
      if (ours) {
        pc = new RTCPeerConnection();
        await pc.setRemoteDescription({ type: 'offer', sdp: ours });
        const answer = await pc.createAnswer();
        out.answer_to_ours = answer.sdp.replace('useinbandfec=1',
                                                'useinbandfec=1; stereo=1');
        pc.close();
      }
      return out;
    }, ours);
    for (const [k, v] of Object.entries(offers)) {
      fs.writeFileSync(path.join(dir, 'chromium_' + k + '.sdp'), v);
    }
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
