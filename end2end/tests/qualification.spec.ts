import { expect, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('a friend qualifies by spend within seconds, the referrer is credited, and a refund returns it to pending', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('spend');
  await createLiveCampaign(page, 'Spend', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');

  const dashboard = await connectSandbox(page);

  // Both audiences go to Stripe; 50.00 USD within 30 days qualifies; a 10.00 USD credit for the
  // person referring, issued automatically, reversed on refund.
  await rewardSpend(page, builder, '50.00', '10.00', true);

  // Ann joins, then Bob through Ann's referral link.
  const visitor = await browser.newPage();
  const ann = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', ann);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const link = await visitor.locator('#referral-link').inputValue();
  const friend = await browser.newPage();
  const bob = uniqueEmail('bob');
  await join(friend, new URL(link).pathname, 'Bob', bob);
  await expect(friend.getByRole('heading', { level: 1 })).toHaveText("You're in, Bob!");

  // Bob pays 20.00 in the sandbox dashboard: pending, with the amount spent.
  await page.goto(dashboard!);
  const pay = async (amount: string) => {
    await expect(async () => {
      await page.goto(dashboard!);
      await expect(page.getByLabel(`Amount for ${bob}`)).toBeVisible({ timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await page.getByLabel(`Amount for ${bob}`).fill(amount);
    await page.getByRole('button', { name: `Pay as ${bob}` }).click();
    await expect(page.getByText(/Payment of .* succeeded/)).toBeVisible();
  };
  await pay('20.00');
  await page.goto(`${campaign}/users?q=${encodeURIComponent(bob)}`);
  await page.getByRole('link', { name: 'Bob' }).click();
  // The router changes the address once the page's code has loaded.
  await expect(page).toHaveURL(/\/users\/par_\w+$/);
  const bobPage = page.url();
  const status = page.locator('.qualification-status');
  await expect(async () => {
    await page.reload();
    await expect(status).toContainText('Pending', { timeout: 500 });
    await expect(status).toContainText('Spent 20.00 USD of 50.00 USD within 30 days (1 payment)', { timeout: 500 });
  }).toPass({ timeout: 10_000 });

  // A second payment qualifies the referral within seconds.
  await pay('35.00');
  const started = Date.now();
  await page.goto(bobPage);
  await expect(async () => {
    await page.reload();
    await expect(status).toContainText('Qualified', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  expect(Date.now() - started).toBeLessThan(10_000);
  await expect(page.locator('.timeline li[data-kind="qualified"]')).toContainText(/Qualified on .* \(target reached by ch_\w+\)/);

  // Ann's credit appears on her Stripe customer (the row whose first cell has her email).
  const annRow = page.locator('tr[data-customer]', { has: page.locator('td:first-child', { hasText: ann }) });
  await expect(async () => {
    await page.goto(dashboard!);
    await expect(annRow).toContainText('-10.00 USD', { timeout: 500 });
  }).toPass({ timeout: 10_000 });

  // Refunding 20.00 of the second payment returns the referral to pending, and reverses the credit.
  const charge = page.locator('tr[data-charge]', { hasText: '35.00 USD' }).first();
  await charge.getByRole('textbox').fill('20.00');
  await charge.getByRole('button', { name: 'Refund' }).click();
  await expect(page.getByText(/Refunded 20.00 USD/)).toBeVisible();
  await page.goto(bobPage);
  await expect(async () => {
    await page.reload();
    await expect(status).toContainText('Pending', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(page.locator('.timeline li[data-kind="unqualified"]')).toContainText('Back to pending — Spent 35.00 USD of 50.00 USD');
  await expect(async () => {
    await page.goto(dashboard!);
    await expect(annRow).not.toContainText('-10.00 USD', { timeout: 500 });
    await expect(annRow).toContainText('0.00 USD', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
});
