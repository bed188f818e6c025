// Opens player.html in headless Chromium, waits until the video plays, then
// watches it for `watch` seconds of wall time: how far currentTime
// advanced, how often the video stalled (`waiting` events after the
// start), what the console said.  With --switch it then forces the
// lowest rung other than the one playing and waits for the picture to
// take its height.  Prints one JSON line: {started, advanced, watched,
// stalls, width, height, levels, latency (the player's live latency,
// sampled each second of the watch), switch_from, switch_to,
// level_height, console, errors}.
//
//   node watch.js PAGE_URL [--watch 10] [--timeout 40] [--switch]
//                 [--log FILE]  (every console line, with the time)

const { chromium } = require('playwright-core');

function option(args, name, fallback) {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : fallback;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const args = process.argv.slice(2);
  const url = args[0];
  const watch = Number(option(args, 'watch', '10'));
  const timeout = Number(option(args, 'timeout', '40'));
  const switchTo = args.includes('--switch');
  const log = option(args, 'log', null);
  const lines = [];

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--disable-background-networking',
           '--autoplay-policy=no-user-gesture-required'],
  });

  const result = { started: false, advanced: 0, watched: 0, stalls: 0,
                   width: 0, height: 0, levels: [], latency: [],
                   switch_from: 0,
                   switch_to: 0, level_height: 0,
                   console: [], errors: [] };
  const state = () => page.evaluate(() => {
    const v = document.getElementById('v');
    return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight,
             ready: v.readyState, stalls: window.stalls,
             levels: window.levels(), errors: window.playerErrors,
             latency: window.liveLatency ? window.liveLatency() : null };
  });
  let page;

  try {
    page = await browser.newPage();
    page.on('response', (r) => {
      if (r.status() >= 400 && !/favicon/.test(r.url())) {
        result.errors.push('HTTP ' + r.status() + ' ' + r.url());
      }
    });
    page.on('pageerror', (e) => result.errors.push('page: ' + e.message));
    page.on('console', (m) => {
      if (log) lines.push(Date.now() + ' ' + m.type() + ' ' + m.text());
      if (m.type() === 'warning' || m.type() === 'error') {
        result.console.push(m.type() + ': ' + m.text());
      }
    });
    await page.goto(url);

    const deadline = Date.now() + timeout * 1000;
    let s = await state();

    // playing: some media played and more is buffered
    while (Date.now() < deadline && !(s.t > 0.5 && s.ready >= 3)
           && !s.errors.length) {
      await sleep(100);
      s = await state();
    }

    result.started = s.t > 0.5;

    if (result.started && !s.errors.length) {
      const t0 = s.t, w0 = Date.now(), stalls0 = s.stalls;

      while (Date.now() - w0 < watch * 1000) {
        await sleep(Math.min(1000, watch * 1000 - (Date.now() - w0)));
        s = await state();
        if (typeof s.latency === 'number' && s.latency > 0) {
          result.latency.push(s.latency);
        }
      }

      result.advanced = s.t - t0;
      result.watched = (Date.now() - w0) / 1000;
      result.stalls = s.stalls - stalls0;
    }

    result.width = s.w;
    result.height = s.h;
    result.levels = s.levels;

    // the lowest rung other than the one playing, and whether the
    // picture gets there
    if (switchTo && result.started) {
      const target = Math.min(...s.levels.filter((h) => h !== s.h));

      result.switch_from = s.h;
      result.switch_to = target;
      await page.evaluate((h) => window.forceHeight(h), target);

      while (Date.now() < deadline) {
        s = await state();
        if (s.h === target) break;
        await sleep(200);
      }

      result.level_height = s.h;
    }

    result.errors = result.errors.concat(s.errors);
  } catch (e) {
    result.errors.push('watch.js: ' + e.message);
  } finally {
    await browser.close();
  }

  if (log) require('fs').writeFileSync(log, lines.join('\n') + '\n');

  console.log(JSON.stringify(result));
})();
