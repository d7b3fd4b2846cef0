import { test, expect, hydrated } from './fixtures';
import { connectSandbox, createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';

// Refloop as the README deploys it (end2end/deployed.mjs): the one file from `make dist`, alone
// in an empty folder, started with deploy/refloop.service's settings, behind caddy running
// deploy/Caddyfile over HTTPS with a certificate from Caddy's internal CA. The browser stands in
// for a CDN in front of Caddy: the address it forwards is the visitor's.
const origin = `https://localhost:${process.env.REFLOOP_E2E_HTTPS_PORT}`;
const visitor = '203.0.113.50';
test.use({ baseURL: origin, ignoreHTTPSErrors: true, extraHTTPHeaders: { 'X-Forwarded-For': visitor } });

test('signs up, connects the sandbox and takes a join through the reverse proxy', async ({ page, browser }) => {
  // The whole front end comes out of the binary: stylesheet, bundle, favicon, each compressed.
  const favicon = await page.request.get('/favicon.svg');
  expect(favicon.status()).toBe(200);
  expect(favicon.headers()['content-type']).toBe('image/svg+xml');

  await signUp(page, 'Acme', 'Dana Deploy', uniqueEmail('dana'));
  await hydrated(page);
  const session = (await page.context().cookies()).find((c) => c.name === 'refloop_session');
  expect(session?.secure, 'the session cookie is Secure over HTTPS').toBe(true);
  expect(session?.httpOnly).toBe(true);
  const css = await page.request.get((await page.locator('link[rel="stylesheet"]').getAttribute('href'))!, {
    headers: { 'Accept-Encoding': 'br' },
  });
  expect(css.headers()['content-encoding']).toBe('br');
  expect(css.headers()['cache-control']).toBe('public, max-age=31536000, immutable');

  await connectSandbox(page);
  // Refloop read the visitor's address from the trusted proxies' X-Forwarded-For.
  await page.goto('/app/activity');
  await expect(page.locator('table.activity tbody tr').first()).toContainText(visitor);

  const slug = uniqueSlug('deployed');
  await createLiveCampaign(page, 'Deployed referrals', slug);
  const friend = await browser.newContext({ baseURL: origin, ignoreHTTPSErrors: true });
  const friendPage = await friend.newPage();
  await join(friendPage, `/j/${slug}`, 'Fran', uniqueEmail('fran'));
  await expect(friendPage.getByRole('heading', { level: 1 })).toHaveText("You're in, Fran!");
  expect(friendPage.url()).toMatch(new RegExp(`^${origin}/p/`));
  // The links she shares carry the public address, not the one Refloop listens on.
  await expect(friendPage.getByLabel('Your referral link')).toHaveValue(new RegExp(`^${origin}/r/`));
  await friend.close();
});
