// Drives the module's own pages (ngx_ams_webrtc/www) in headless Chromium
// with fake camera and microphone.  Prints JSON lines; the last one is
// the result.
//
//   node pages.js play PAGE_URL [--seconds 3] [--timeout 40]
//     waits until window.amsPlayer plays and the video's currentTime has
//     advanced `seconds`: {tech, state, advanced, width, height, status,
//     started (ms from load to playing), playerErrors, errors}
//
//   node pages.js publish PAGE_URL [--hold 15] [--timeout 30]
//     waits for the camera preview, presses "Start publishing", waits
//     until window.amsPublisher publishes or fails and prints that as a
//     first line, then (publishing) keeps the page open `hold` seconds
//     and presses "Stop publishing": {preview: [w, h], state, status,
//     httpStatus, stopped, errors}

const { chromium } = require('playwright-core');

function option(args, name, fallback) {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : fallback;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function play(page, url, args, result) {
  const seconds = Number(option(args, 'seconds', '3'));
  const timeout = Number(option(args, 'timeout', '40')) * 1000;
  const loaded = Date.now();
  await page.goto(url);
  let first = null;
  while (Date.now() - loaded < timeout) {
    const s = await page.evaluate(() => {
      const p = window.amsPlayer || {};
      const v = p.video || document.querySelector('video');
      return { tech: p.tech || null, state: p.state || null,
               t: v ? v.currentTime : 0, width: v ? v.videoWidth : 0,
               height: v ? v.videoHeight : 0,
               status: document.getElementById('status').textContent,
               playerErrors: p.errors || [] };
    });
    Object.assign(result, { tech: s.tech, state: s.state, width: s.width,
                            height: s.height, status: s.status,
                            playerErrors: s.playerErrors });
    if (s.state === 'playing') {
      if (first === null) {
        first = s.t;
        result.started = Date.now() - loaded;
      }
      result.advanced = s.t - first;
      if (result.advanced >= seconds) break;
    }
    await sleep(250);
  }
}

async function publish(page, url, args, result) {
  const hold = Number(option(args, 'hold', '15')) * 1000;
  const timeout = Number(option(args, 'timeout', '30')) * 1000;
  const state = () => page.evaluate(() => {
    const p = window.amsPublisher || {};
    const v = document.getElementById('preview');
    return { state: p.state, httpStatus: p.httpStatus,
             preview: [v.videoWidth, v.videoHeight],
             status: document.getElementById('status').textContent };
  });
  const until = async (done, ms) => {
    const deadline = Date.now() + ms;
    let s = await state();
    while (!done(s) && Date.now() < deadline) {
      await sleep(200);
      s = await state();
    }
    return s;
  };

  await page.goto(url);
  let s = await until((x) => x.preview[0] > 0 && x.state !== 'camera',
                      10000);
  Object.assign(result, s);
  if (s.state !== 'ready') return;

  await page.click('#start');
  s = await until((x) => x.state === 'publishing' || x.state === 'error',
                  timeout);
  Object.assign(result, s);
  console.log(JSON.stringify(result));
  if (s.state !== 'publishing') return;

  const end = Date.now() + hold;
  while (Date.now() < end) {
    s = await state();
    if (s.state !== 'publishing') break;
    await sleep(250);
  }
  Object.assign(result, s);
  await page.click('#stop');
  s = await until((x) => x.state === 'stopped', 5000);
  result.stopped = s.state === 'stopped';
}

(async () => {
  const [mode, url, ...args] = process.argv.slice(2);
  const result = { errors: [] };
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--disable-background-networking',
           '--autoplay-policy=no-user-gesture-required',
           '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream'],
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push('page: ' + e.message));
    if (mode === 'publish') {
      await publish(page, url, args, result);
    } else {
      await play(page, url, args, result);
    }
  } catch (e) {
    result.errors.push('pages.js: ' + e.message);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
})();
