// Opens player.html in headless Chromium and waits until the video has
// played `seconds` of media, or the player reports an error, or time runs
// out.  Prints one JSON line: {played, width, height, errors}.
//
//   node play.js PAGE_URL [seconds] [timeout_seconds]

const { chromium } = require('playwright-core');

(async () => {
  const [url, seconds = '3', timeout = '40'] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
           '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
  let result = { played: 0, width: 0, height: 0, errors: [] };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => result.errors.push('page: ' + e.message));
    await page.goto(url);
    const deadline = Date.now() + Number(timeout) * 1000;
    while (Date.now() < deadline) {
      const s = await page.evaluate(() => {
        const v = document.getElementById('v');
        return { played: v.currentTime, width: v.videoWidth,
                 height: v.videoHeight, errors: window.playerErrors };
      });
      result = { ...s, errors: result.errors.concat(s.errors) };
      if (result.errors.length || result.played >= Number(seconds)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.log(JSON.stringify({ played: 0, width: 0, height: 0,
                               errors: ['play.js: ' + e.message] }));
});
