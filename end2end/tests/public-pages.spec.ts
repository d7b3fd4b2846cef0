import { test, expect } from './fixtures';
import { publicPages, weigh } from './public-pages';

// A friend opening a referral link on a phone downloads the page and its stylesheet: no WASM,
// no script, and at most 30 KB in all (the budget the referral pages are held to).
test('the public pages load no WASM and weigh at most 30 KB', async ({ browser, page }) => {
  for (const path of await publicPages(browser)) {
    const { bytes, urls } = await weigh(page, path);
    console.log(`${path.replace(/^\/(j|r|p)\/.*/, '/$1/…')}: ${(bytes / 1024).toFixed(1)} KB over the wire, ${urls.length} requests (goal: ≤ 30 KB)`);
    expect(urls.filter((u) => /\.(wasm|js)(\?|$)/.test(u)), `${path} loads no code`).toEqual([]);
    expect(bytes, `${path} weighs at most 30 KB`).toBeLessThanOrEqual(30 * 1024);
  }
  // The app itself still hydrates.
  const { urls } = await weigh(page, '/signin');
  expect(urls.some((u) => u.endsWith('.wasm'))).toBe(true);
});
