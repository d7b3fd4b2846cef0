import { test, expect } from './fixtures';
import { signUp, uniqueEmail } from './helpers';
import { weigh } from './public-pages';

// Each page's code is a WASM chunk of its own, fetched with the page that needs it (`cargo leptos
// build --split`); the main bundle holds the runtime, the router and the layout. A marketer's
// first page is interactive after 305–370 KB (brotli; 819 KB when every page was in one bundle).
// The budget holds that split in place; issue 21's goal is 200 KB.
const BUDGET = 400 * 1024;

test(`an app page is interactive after at most ${BUDGET / 1024} KB of WASM`, async ({ page }) => {
  for (const path of ['/signin', '/signup']) {
    const { wasmBytes: bytes, urls } = await weigh(page, path, { hydrated: true });
    const files = urls.filter((u) => new URL(u).pathname.endsWith('.wasm'));
    console.log(`${path}: ${(bytes / 1024).toFixed(1)} KB of WASM over the wire (${files.length} files; goal: ≤ 200 KB)`);
    expect(files.length, `${path} loads a chunk beside the main bundle`).toBeGreaterThan(1);
    expect(bytes, `${path} hydrates after at most ${BUDGET / 1024} KB of WASM`).toBeLessThanOrEqual(BUDGET);
  }
  await signUp(page, 'Bundle Co', 'Bea Bundle', uniqueEmail('bea'));
  for (const path of ['/app', '/app/campaigns']) {
    const { wasmBytes: bytes, urls } = await weigh(page, path, { hydrated: true });
    const files = urls.filter((u) => new URL(u).pathname.endsWith('.wasm'));
    console.log(`${path}: ${(bytes / 1024).toFixed(1)} KB of WASM over the wire (${files.length} files; goal: ≤ 200 KB)`);
    expect(bytes, `${path} hydrates after at most ${BUDGET / 1024} KB of WASM`).toBeLessThanOrEqual(BUDGET);
  }
  // A page reached by the router loads its own chunk and works.
  await page.getByRole('link', { name: 'Campaigns', exact: true }).first().click();
  await expect(page).toHaveURL(/\/app\/campaigns$/);
  await page.getByRole('link', { name: 'Team', exact: true }).first().click();
  await expect(page).toHaveURL(/\/app\/team$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Team');
});
