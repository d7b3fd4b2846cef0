import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
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

/** Creates a Payment Link for one product in the sandbox's dashboard; its address. */
async function createPaymentLink(page: Page, dashboard: string, price: string, promotionCodes: boolean): Promise<string> {
  await page.goto(dashboard);
  await page.getByLabel('Product name').fill('Annual plan');
  await page.getByLabel('Price', { exact: true }).fill(price);
  if (promotionCodes) await page.getByLabel('Promotion codes').check();
  await page.getByRole('button', { name: 'Create payment link' }).click();
  await expect(page.getByText(/Created payment link/)).toBeVisible();
  const link = (await page.locator('tr[data-payment-link]', { hasText: price }).locator('a').getAttribute('href'))!;
  expect(link).toMatch(/\/sandbox\/stripe\/pay\/plink_\w+$/);
  return link;
}

/**
 * Waits until the friend who paid at `paidAt` is in the campaign's Users tab and qualified; prints how long
 * from the payment until the browser saw it, and ends on their page.
 */
async function expectQualified(page: Page, campaign: string, email: string, name: string, journey: string, paidAt: number) {
  await expect(async () => {
    await page.goto(`${campaign}/users?q=${encodeURIComponent(email)}`);
    await expect(page.getByRole('link', { name })).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await page.getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/users\/par_\w+$/);
  const status = page.locator('.qualification-status');
  await expect(async () => {
    await page.reload();
    await expect(status).toContainText('Qualified', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  console.log(`${journey}: payment to qualified, as seen in the browser, in ${Date.now() - paidAt} ms`);
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
  const paymentLink = await createPaymentLink(page, dashboard, '60.00', false);
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
    const ann = uniqueEmail('ann');
    await join(visitor, `/j/${slug}`, 'Ann', ann);
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
    await expectQualified(page, campaign, work, 'Bob', 'client_reference_id journey', paidAt);
    await expect(page.locator('.timeline li[data-kind="attributed"]')).toContainText(
      `Attributed by client_reference_id ${code} on checkout cs_test_`,
    );
    await expect(async () => {
      await page.goto(dashboard);
      // Ann's customer: the row whose first cell has her email.
      const annRow = page.locator('tr[data-customer]', { has: page.locator('td:first-child', { hasText: ann }) });
      await expect(annRow).toContainText('-10.00 USD', { timeout: 500 });
    }).toPass({ timeout: 10_000 });
    await bobContext.close();
  } finally {
    shop.server.close();
  }
});

test('someone who never visits Refloop pays with a person’s promotion code and becomes their qualified friend', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('offer');
  await createLiveCampaign(page, 'Offer', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');
  const dashboard = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');

  // The friend's offer: 20% off, each person referring with their own code.
  // (The form is drawn again when the rewards just saved are read back; a choice made before
  // that is drawn over, so it is made again until its field shows.)
  await expect(async () => {
    await page.getByLabel('Friends get').selectOption('percent');
    await expect(page.locator('input[name="offer_value"]')).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await page.locator('input[name="offer_value"]').fill('20');
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(page.locator('.rewards').getByText('Saved.')).toBeVisible();

  // Ann joins; her page shows her code once Stripe has made it.
  const visitor = await browser.newPage();
  await join(visitor, `/j/${slug}`, 'Ann', uniqueEmail('ann'));
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  // (The code is made by a job calling Stripe; with the whole suite running at once on two
  // cores it has taken over 10 s, so this waits longer: it checks that the code comes, not how fast.)
  const offer = visitor.locator('.friend-offer');
  await expect(async () => {
    await visitor.reload();
    await expect(offer).toContainText(/with your code ANN-\w{4}\./, { timeout: 500 });
  }).toPass({ timeout: 30_000 });
  const code = (await offer.textContent())!.match(/ANN-\w{4}/)![0];

  // A Payment Link that takes promotion codes; Carol opens it directly and pays 70.00 with Ann's code.
  const paymentLink = await createPaymentLink(page, dashboard, '70.00', true);
  const carolContext = await browser.newContext();
  const carol = await carolContext.newPage();
  await carol.goto(paymentLink);
  const carolEmail = uniqueEmail('carol');
  await carol.getByLabel('Email').fill(carolEmail);
  await carol.getByLabel('Name on card').fill('Carol Jones');
  await carol.getByLabel('Card number').fill('4242 4242 4242 4242');
  await carol.getByLabel('Promotion code').fill(code);
  await carol.getByRole('button', { name: 'Pay 70.00 USD' }).click();
  await expect(carol.getByRole('status')).toContainText('Paid 56.00 USD');
  const paidAt = Date.now();

  // Carol is Ann's friend, made from the payment, and qualified (56.00 of 50.00).
  await expectQualified(page, campaign, carolEmail, 'Carol', 'promotion code journey', paidAt);
  await expect(page.locator('.timeline li[data-kind="attributed"]')).toContainText(`Attributed by promotion code ${code} on checkout cs_test_`);
  await expect(page.locator('.participant-facts')).toContainText('Referred by');
  await expect(page.locator('.participant-facts')).toContainText('Ann');
  await carolContext.close();
});
