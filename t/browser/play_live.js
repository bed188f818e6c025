// Opens player.html in headless Chromium and follows a live stream: waits
// until the video's currentTime has advanced `seconds` past where playing
// began (or an error, or time runs out), sampling hls.js's latency (its
// estimate of how far behind the live edge the playhead is) twice a
// second, and the glass-to-glass delay when the picture carries a clock:
// a bar of 45 cells 14 px wide along its top 16 rows, cell b white when
// bit b of the wall clock's milliseconds at capture is set (what
// bench/bench_latency.sh publishes).  Prints one JSON line: {advanced,
// wall, width, height, latency: [...], g2g: [...], errors}.
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
                   g2g: [], errors: [] };
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
        // the clock in the picture on screen now, if it has one
        let clock = 0;
        if (v.videoWidth >= 630) {
          const c = window.clockCanvas
                    || (window.clockCanvas = document.createElement('canvas'));
          c.width = v.videoWidth;
          c.height = 16;
          const g = c.getContext('2d', { willReadFrequently: true });
          g.drawImage(v, 0, 0);
          const row = g.getImageData(0, 8, 630, 1).data;
          for (let b = 0; b < 45; b++) {
            if (row[(b * 14 + 7) * 4] > 128) clock += 2 ** b;
          }
        }
        return { t: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                 paused: v.paused, errors: window.playerErrors,
                 latency: window.hls ? window.hls.latency : null,
                 g2g: Math.abs(Date.now() - clock) < 60000
                      ? (Date.now() - clock) / 1000 : null };
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
        if (s.g2g !== null) result.g2g.push(s.g2g);
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
