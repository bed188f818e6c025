// Ant Media's SDK in headless Chromium (fake camera and microphone):
// publishes STREAM over our WebSocket signalling, then plays it back in a
// second page, and watches the player for --watch seconds.  Prints one
// JSON line: {published, played, publish_events, play_events, errors,
// before, after (the player's counters: framesDecoded, width, height,
// audioPackets, audioEnergy), sent (the publisher's bytes), setup_ms,
// data: {to_player, to_publisher} (each sent with the SDK's sendData()
// on the data channel: arrived at the other page)}.
//
//   node adaptor.js PAGE_URL WS_URL STREAM [--watch 3] [--timeout 30]
//                   [--play-only]

const { chromium } = require('playwright-core');

function option(args, name, fallback) {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : fallback;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const args = process.argv.slice(2);
  const [page_url, ws, id] = args;
  const watch = Number(option(args, 'watch', '3'));
  const timeout = Number(option(args, 'timeout', '30'));
  const playOnly = args.includes('--play-only');
  const result = { published: false, played: false, errors: [],
                   publish_events: [], play_events: [] };

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream',
           '--disable-background-networking',
           '--autoplay-policy=no-user-gesture-required'],
  });

  const open = async (mode) => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push(mode + ' page: '
                                                   + e.message));
    await page.goto(page_url + '?mode=' + mode + '&id='
                    + encodeURIComponent(id) + '&ws='
                    + encodeURIComponent(ws));
    return page;
  };

  const waitFor = async (page, what) => {
    const deadline = Date.now() + timeout * 1000;
    while (Date.now() < deadline) {
      const s = await page.evaluate(() => window.amsState);
      if (s.events.includes(what)) return true;
      if (s.errors.length) return false;
      await sleep(100);
    }
    return false;
  };

  try {
    let pub;
    if (!playOnly) {
      pub = await open('publish');
      result.published = await waitFor(pub, 'publish_started');
      const s = await pub.evaluate(() => window.amsState);
      result.publish_events = s.events;
      result.errors.push(...s.errors);
      if (!result.published) throw new Error('not published');
      await sleep(1000);
    }

    const t0 = Date.now();
    const play = await open('play');
    result.played = await waitFor(play, 'play_started');
    let s = await play.evaluate(() => window.amsState);
    result.play_events = s.events;
    result.errors.push(...s.errors);

    if (result.played) {
      const deadline = Date.now() + timeout * 1000;
      let st = await play.evaluate(() => window.amsStats());
      while (Date.now() < deadline && st.framesDecoded === 0) {
        await sleep(50);
        st = await play.evaluate(() => window.amsStats());
      }
      result.setup_ms = Date.now() - t0;
      result.before = st;
      await sleep(watch * 1000);
      result.after = await play.evaluate(() => window.amsStats());
    }

    if (pub) {
      result.sent = await pub.evaluate(() => window.amsStats());
    }

    // the data channel both ways: the SDK's sendData(), relayed
    if (pub && result.played) {
      const arrived = async (page, text) => {
        const deadline = Date.now() + 10000;
        while (Date.now() < deadline) {
          const s = await page.evaluate(() => window.amsState.data);
          if (s.includes(text)) return true;
          await sleep(100);
        }
        return false;
      };
      result.data = {};
      await pub.evaluate((i) => window.adaptor.sendData(i, 'from publisher'),
                         id);
      result.data.to_player = await arrived(play, 'from publisher');
      await play.evaluate((i) => window.adaptor.sendData(i, 'from player'),
                          id);
      result.data.to_publisher = await arrived(pub, 'from player');
    }
  } catch (e) {
    result.errors.push(String(e));
  }

  console.log(JSON.stringify(result));
  await browser.close();
})();
