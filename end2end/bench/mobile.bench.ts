// How fast the referral pages are on a phone: Slow 4G (150 ms round trips, 1.6 Mbit/s down,
// 750 kbit/s up) and a CPU four times slower, as Lighthouse's mobile profile. Prints, for each
// public page, when its form is visible and usable (first contentful paint: the form arrives in
// the HTML and posts without scripts) and the bytes it took; and, for comparison, when the
// sign-in page of the app has hydrated. Run with `make bench-mobile`; the goal is < 1.5 s.
import { test, expect } from '@playwright/test';
import { publicPages } from '../tests/public-pages';

const RUNS = 5;

test('referral pages on a throttled phone', async ({ browser }) => {
  const paths = await publicPages(browser);
  const rows: string[] = [];
  for (const path of [...paths, '/signin']) {
    const usable: number[] = [];
    let bytes = 0;
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 150,
        downloadThroughput: (1.6 * 1024 * 1024) / 8,
        uploadThroughput: (750 * 1024) / 8,
      });
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
      bytes = 0;
      cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
      await page.goto(path, { waitUntil: 'load' });
      let at: number;
      if (path === '/signin') {
        await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
        at = await page.evaluate(() => performance.now());
      } else {
        await expect(page.getByRole('button', { name: 'Join' }).or(page.getByLabel('Your referral link'))).toBeVisible();
        at = await page.evaluate(
          () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? performance.now(),
        );
      }
      usable.push(at);
      await context.close();
    }
    usable.sort((a, b) => a - b);
    const median = usable[Math.floor(RUNS / 2)];
    const what =
      path === '/signin'
        ? 'hydrated (app page, for comparison)'
        : path.startsWith('/p/')
          ? 'link and code visible'
          : 'form visible and usable';
    const name = path.replace(/\/p\/.*/, '/p/{token}').replace(/\/(j|r)\/.*/, '/$1/…');
    rows.push(`${name.padEnd(12)} ${what}: median ${(median / 1000).toFixed(2)} s of ${RUNS} (worst ${(usable[RUNS - 1] / 1000).toFixed(2)} s), ${(bytes / 1024).toFixed(1)} KB`);
  }
  console.log(`\nSlow 4G + 4× CPU (goal for the public pages: < 1.5 s)\n${rows.join('\n')}`);
});
