// The page `mura serve` shows, in a real browser: Debian's headless Chromium driven by
// playwright-core. Uploads IMAGE through the page's file input, waits for the result, prints
// one JSON line {probability, verdict, panels, console_errors, external_requests} and saves a
// screenshot to SCREENSHOT.
//
//   node serve_page.mjs URL IMAGE SCREENSHOT [TOKEN]
import { chromium } from 'playwright-core';

const [url, image, screenshot, token] = process.argv.slice(2);
if (!url || !image || !screenshot) {
  console.error('usage: node serve_page.mjs URL IMAGE SCREENSHOT [TOKEN]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleErrors = [];
  const external = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:')) external.push(r.url()); });
  await page.goto(url);
  if (token) await page.fill('#token', token);
  // Keyboard: the file input is reachable with Tab.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  await page.setInputFiles('#files', image);
  await page.waitForSelector('#probability', { timeout: 60000 });
  const probability = Number(await page.getAttribute('#probability', 'data-value'));
  const verdict = await page.textContent('#verdict');
  const panels = await page.locator('.panels img').count();
  await page.screenshot({ path: screenshot, fullPage: true });
  const errorsBeforeReject = consoleErrors.slice();  // the 400 below logs one by design
  // A rejected file gets a clear message.
  await page.setInputFiles('#files', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
  await page.waitForSelector('#status.error', { timeout: 60000 });
  const rejected = await page.textContent('#status');
  console.log(JSON.stringify({ probability, verdict, panels, focused, rejected, console_errors: errorsBeforeReject, external_requests: external }));
} finally {
  await browser.close();
}
