// Runs whip.html or whep.html in headless Chromium (fake camera and
// microphone, loopback allowed for ICE) and follows it: every 250 ms the
// page's report (window.amsWebrtc.report()) is written to --status FILE
// (whole, by rename) so a test can poll it while the page runs.  The page
// has started when --until holds: "decoded" (a video frame decoded: a
// player), "sent" (connected and a video frame sent: a publisher) or
// "connected"; it then runs --seconds more (0: until SIGTERM or
// --timeout), and ends with window.amsWebrtc.stop() (DELETE of the
// session).  Ends early when the page reports an error.  Prints one JSON
// line: {started, first, last, samples: [[ms, framesDecoded,
// framesSent]], stop, errors, console}, and writes it to --status with
// done: true.
//
//   node webrtc.js PAGE_URL [--until decoded] [--seconds 3] [--timeout 30]
//                  [--status FILE] [--no-stop]

const fs = require('fs');
const { chromium } = require('playwright-core');

function option(args, name, fallback) {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : fallback;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const args = process.argv.slice(2);
  const url = args[0];
  const until = option(args, 'until', 'decoded');
  const seconds = Number(option(args, 'seconds', '3'));
  const timeout = Number(option(args, 'timeout', '30'));
  const statusFile = option(args, 'status', null);
  const doStop = !args.includes('--no-stop');

  let term = false;
  process.on('SIGTERM', () => { term = true; });
  process.on('SIGINT', () => { term = true; });

  const result = { started: false, first: null, last: null, samples: [],
                   stop: null, errors: [], console: [] };
  const write = (obj) => {
    if (!statusFile) return;
    fs.writeFileSync(statusFile + '.tmp', JSON.stringify(obj) + '\n');
    fs.renameSync(statusFile + '.tmp', statusFile);
  };

  // the signals are ours: the page DELETEs its session before it closes
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    handleSIGTERM: false, handleSIGINT: false, handleSIGHUP: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--disable-background-networking',
           '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream',
           '--allow-loopback-in-peer-connection',
           '--autoplay-policy=no-user-gesture-required'],
  });

  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push('page: ' + e.message));
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') {
        result.console.push(m.type() + ': ' + m.text());
      }
    });
    await page.goto(url);

    const deadline = Date.now() + timeout * 1000;
    let began = null;

    while (!term && Date.now() < deadline) {
      const r = await page.evaluate(() => window.amsWebrtc.report());
      result.last = r;
      result.samples.push([r.t, r.video.framesDecoded || 0,
                           r.sentVideo.framesSent || 0]);
      if (result.samples.length > 400) result.samples.shift();

      const connected = r.connectionState === 'connected';
      const started = until === 'decoded' ? (r.video.framesDecoded || 0) > 0
        : until === 'sent' ? connected && (r.sentVideo.framesSent || 0) > 0
        : connected;
      if (started && began === null) {
        began = Date.now();
        result.started = true;
        result.first = r;
      }
      write({ ...result, done: false });

      if (r.errors.length || r.connectionState === 'failed') break;
      if (began !== null && seconds > 0
          && Date.now() - began >= seconds * 1000) break;
      await sleep(250);
    }

    if (doStop) {
      result.stop = await page.evaluate(() => window.amsWebrtc.stop());
    }
    if (result.last) result.errors = result.errors.concat(result.last.errors);
  } catch (e) {
    result.errors.push('webrtc.js: ' + e.message);
  } finally {
    await browser.close();
  }

  write({ ...result, done: true });
  console.log(JSON.stringify(result));
})();
