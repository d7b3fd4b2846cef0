import { expect, type Browser, type Page } from '@playwright/test';
import { createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';

/** The three public pages of a live campaign: its join page, a referral link, a personal page. */
export async function publicPages(browser: Browser): Promise<string[]> {
  const owner = await browser.newPage();
  await signUp(owner, 'Weigh Co', 'Wendy Weigh', uniqueEmail('wendy'));
  const slug = uniqueSlug('weigh');
  await createLiveCampaign(owner, 'Weigh', slug);
  await owner.close();
  const visitor = await browser.newPage();
  await join(visitor, `/j/${slug}`, 'Ann', uniqueEmail('ann'));
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const personal = new URL(visitor.url()).pathname;
  const code = (await visitor.locator('.referral-code').textContent())!.trim();
  await visitor.close();
  return [`/j/${slug}`, `/r/${code}`, personal];
}

/** What loading `path` in a fresh page of `page`'s context costs (its cookies kept, its cache
 * off): bytes over the wire (compressed, headers included), the part of them that is WASM (the
 * main bundle and the page's chunks), and the address of every request it made. With
 * `hydrated`, it waits until the app has hydrated the page. */
export async function weigh(
  page: Page,
  path: string,
  { hydrated = false } = {},
): Promise<{ bytes: number; wasmBytes: number; urls: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  let wasmBytes = 0;
  const urls: string[] = [];
  const wasm = new Set<string>();
  cdp.on('Network.requestWillBeSent', (e) => {
    urls.push(e.request.url);
    if (new URL(e.request.url).pathname.endsWith('.wasm')) wasm.add(e.requestId);
  });
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    if (wasm.has(e.requestId)) wasmBytes += e.encodedDataLength;
  });
  await page.goto(path, { waitUntil: 'load' });
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  await cdp.detach();
  return { bytes, wasmBytes, urls };
}
