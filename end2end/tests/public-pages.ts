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

/** What loading `path` in a fresh page costs: bytes over the wire (compressed, headers included)
 * and the address of every request it made. */
export async function weigh(page: Page, path: string): Promise<{ bytes: number; urls: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  const urls: string[] = [];
  cdp.on('Network.requestWillBeSent', (e) => urls.push(e.request.url));
  cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
  await page.goto(path, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle');
  await cdp.detach();
  return { bytes, urls };
}

/** The WASM a page downloads before it is interactive: loads `path` in a fresh page of `page`'s
 * context (its cookies kept, its cache off), waits until the app has hydrated it, and adds up
 * the compressed bytes of every `.wasm` response (the main bundle and the page's chunks). */
export async function weighWasm(page: Page, path: string): Promise<{ bytes: number; files: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const wasm = new Map<string, string>();
  let bytes = 0;
  cdp.on('Network.responseReceived', (e) => {
    if (new URL(e.response.url).pathname.endsWith('.wasm')) wasm.set(e.requestId, e.response.url);
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (wasm.has(e.requestId)) bytes += e.encodedDataLength;
  });
  await page.goto(path, { waitUntil: 'load' });
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  await cdp.detach();
  return { bytes, files: [...wasm.values()].map((u) => new URL(u).pathname) };
}
