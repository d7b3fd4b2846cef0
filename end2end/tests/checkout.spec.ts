import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

/** The merchant's own site on another loopback port: one static page with Refloop's snippet and a Payment Link. */
async function merchantSite(refloop: string, slug: string, paymentLink: string): Promise<{ url: string; server: Server }> {
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="${refloop}/refloop.js" data-campaign="${slug}" data-days="30" defer></script></head>
<body><h1>The shop</h1><a id="buy" href="${paymentLink}">Buy the annual plan</a></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

test('a friend sent to the merchant’s page pays a Payment Link with another email, and the referral counts', async ({
  page,
  browser,
  baseURL,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('checkout');
  await createLiveCampaign(page, 'Checkout', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');
  const dashboard = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');

  // The merchant sells through a Payment Link made in the sandbox's dashboard.
  await page.goto(dashboard);
  await page.getByLabel('Product name').fill('Annual plan');
  await page.getByLabel('Price', { exact: true }).fill('60.00');
  await page.getByRole('button', { name: 'Create payment link' }).click();
  await expect(page.getByText(/Created payment link/)).toBeVisible();
  const paymentLink = (await page.locator('tr[data-payment-link] a').first().getAttribute('href'))!;
  expect(paymentLink).toMatch(/\/sandbox\/stripe\/pay\/plink_\w+$/);
  const shop = await merchantSite(baseURL!, slug, paymentLink);
  try {
    // Referral links lead to the merchant's page; the Promote step gives the snippet.
    await page.goto(`${builder}?step=setup`);
    await hydrated(page);
    await page.getByLabel('Referral links lead to').fill(shop.url);
    await page.getByRole('button', { name: 'Save setup' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
    await page.goto(`${builder}?step=promote`);
    await expect(page.locator('#site-snippet')).toHaveValue(
      `<script src="${baseURL}/refloop.js" data-campaign="${slug}" data-days="30" defer></script>`,
    );

    // Ann joins and shares her link.
    const visitor = await browser.newPage();
    await join(visitor, `/j/${slug}`, 'Ann', uniqueEmail('ann'));
    await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
    const link = await visitor.locator('#referral-link').inputValue();
    const code = link.split('/r/')[1];

    // Bob opens it: he lands on the shop, whose snippet puts Ann's code on the Payment Link.
    const bobContext = await browser.newContext();
    const bob = await bobContext.newPage();
    await bob.goto(link);
    await expect(bob).toHaveURL(`${shop.url}?ref=${code}`);
    await expect(bob.locator('#buy')).toHaveAttribute('href', `${paymentLink}?client_reference_id=${code}`);
    // He comes back later (the code is kept on the shop's own site) and pays with his work email.
    await bob.goto(shop.url);
    await expect(bob.locator('#buy')).toHaveAttribute('href', `${paymentLink}?client_reference_id=${code}`);
    await bob.locator('#buy').click();
    await expect(bob.getByRole('button', { name: 'Pay 60.00 USD' })).toBeVisible();
    const work = uniqueEmail('bob.work');
    await bob.getByLabel('Email').fill(work);
    await bob.getByLabel('Name on card').fill('Bob Builder');
    await bob.getByLabel('Card number').fill('4242 4242 4242 4242');
    await bob.getByRole('button', { name: 'Pay 60.00 USD' }).click();
    await expect(bob.getByRole('status')).toContainText('Paid 60.00 USD');
    const paidAt = Date.now();

    // Bob is Ann's friend, qualified, and Ann is credited.
    await expect(async () => {
      await page.goto(`${campaign}/users?q=${encodeURIComponent(work)}`);
      await expect(page.getByRole('link', { name: 'Bob' })).toBeVisible({ timeout: 500 });
    }).toPass({ timeout: 10_000 });
    await page.getByRole('link', { name: 'Bob' }).click();
    await expect(page).toHaveURL(/\/users\/par_\w+$/);
    const status = page.locator('.qualification-status');
    await expect(async () => {
      await page.reload();
      await expect(status).toContainText('Qualified', { timeout: 500 });
    }).toPass({ timeout: 10_000 });
    console.log(`checkout journey: payment to qualified seen in the browser in ${Date.now() - paidAt} ms`);
    await expect(page.locator('.timeline li[data-kind="attributed"]')).toContainText(
      `Attributed by client_reference_id ${code} on checkout cs_test_`,
    );
    await expect(async () => {
      await page.goto(dashboard);
      const annRow = page.locator('tr[data-customer]', { hasText: 'Ann' });
      await expect(annRow.first()).toContainText('-10.00 USD', { timeout: 500 });
    }).toPass({ timeout: 10_000 });
    await bobContext.close();
  } finally {
    shop.server.close();
  }
});
