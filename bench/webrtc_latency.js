// bench/bench_webrtc_latency.sh's browser: headless Chromium opens
// webrtc_latency.html as a WHIP publisher (when PUB_URL is given, waiting
// until it is connected and 2 s more), then as a WHEP player, which reads
// the clock in each frame it shows for SECONDS after its first one.
// Prints one JSON line: {setup (ms, POST to the first frame shown),
// g2g: [ms...], state, errors}.
//
//   node webrtc_latency.js PLAY_URL [PUB_URL|-] [seconds] [timeout_seconds]

const path = require('path');
const { chromium } = require(path.join(__dirname,
  '../t/browser/node_modules/playwright-core'));

(async () => {
  const [playUrl, pubUrl = '-', seconds = '10', timeout = '40'] =
    process.argv.slice(2);
  const deadline = Date.now() + Number(timeout) * 1000;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--disable-background-networking',
           '--autoplay-policy=no-user-gesture-required'],
  });
  const result = { setup: null, g2g: [], state: '', errors: [] };
  try {
    if (pubUrl !== '-') {
      const pub = await browser.newPage();
      await pub.goto(pubUrl);
      let s;
      while (Date.now() < deadline) {
        s = await pub.evaluate(() => ({ state: window.state,
                                        errors: window.errors }));
        if (s.state === 'connected' || s.errors.length) break;
        await sleep(200);
      }
      if (s.state !== 'connected') {
        throw new Error('publisher: ' + s.state + ' ' + s.errors.join(', '));
      }
      await sleep(2000);
    }
    const page = await browser.newPage();
    await page.goto(playUrl);
    let began = 0;
    while (Date.now() < deadline) {
      const s = await page.evaluate(() => ({ setup: window.setup,
        n: window.g2g.length, errors: window.errors, state: window.state }));
      result.state = s.state;
      if (s.errors.length) {
        result.errors = s.errors;
        break;
      }
      if (s.setup !== undefined && !began) began = Date.now();
      if (began && Date.now() - began >= Number(seconds) * 1000) break;
      await sleep(250);
    }
    const r = await page.evaluate(() => ({ setup: window.setup,
                                            g2g: window.g2g }));
    result.setup = r.setup === undefined ? null : r.setup;
    result.g2g = r.g2g;
  } catch (e) {
    result.errors.push(e.message);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
})();
