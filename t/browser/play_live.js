// Opens player.html in headless Chromium and follows a live stream: waits
// until the video's currentTime has advanced `seconds` past where playing
// began (or an error, or time runs out), sampling hls.js's latency (its
// estimate of how far behind the live edge the playhead is) twice a
// second.  Prints one JSON line: {advanced, wall, width, height,
// latency: [...], errors}.
//
//   node play_live.js PAGE_URL [seconds] [timeout_seconds]

const { chromium } = require('playwright-core');

(async () => {
  const [url, seconds = '10', timeout = '60'] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--disable-background-networking',
           '--autoplay-policy=no-user-gesture-required'],
  });
  const result = { advanced: 0, wall: 0, width: 0, height: 0, latency: [],
                   errors: [] };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push('page: ' + e.message));
    await page.goto(url);
    const deadline = Date.now() + Number(timeout) * 1000;
    let first = null;
    let began = 0;
    while (Date.now() < deadline) {
      const s = await page.evaluate(() => {
        const v = document.getElementById('v');
        return { t: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                 paused: v.paused, errors: window.playerErrors,
                 latency: window.hls ? window.hls.latency : null };
      });
      result.errors = result.errors.concat(s.errors);
      result.width = s.width;
      result.height = s.height;
      if (first === null && s.t > 0 && !s.paused) {
        first = s.t;
        began = Date.now();
      }
      if (first !== null) {
        result.advanced = s.t - first;
        result.wall = (Date.now() - began) / 1000;
        if (s.latency !== null && s.latency > 0) result.latency.push(s.latency);
      }
      if (result.errors.length || result.advanced >= Number(seconds)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.log(JSON.stringify({ advanced: 0, wall: 0, latency: [],
                               errors: ['play_live.js: ' + e.message] }));
});
