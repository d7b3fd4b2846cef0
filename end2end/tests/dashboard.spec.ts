import { mkdirSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';
import type { Page, TestInfo } from '@playwright/test';

/** Screenshots the page at 1,280 px and at 360 px wide, attached to the run's report and kept in
 * end2end/screenshots/ (the closing note of issue 24 describes them). */
async function screenshots(page: Page, testInfo: TestInfo, name: string) {
  const dir = joinPath(__dirname, '..', 'screenshots');
  mkdirSync(dir, { recursive: true });
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: 900 });
    const path = joinPath(dir, `${name}-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    await testInfo.attach(`${name} at ${width} px`, { path, contentType: 'image/png' });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

test('the dashboard shows what the program earned, cost, the funnel and the top referrer', async ({ page, browser }, testInfo) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  // A new account: the dashboard says what to do first, each with the button that does it.
  await expect(page.locator('[data-next="stripe"]')).toContainText('Stripe is not connected');
  await expect(page.locator('[data-next="stripe"]').getByRole('link', { name: 'Connect Stripe' })).toHaveAttribute('href', '/app/integrations');
  await expect(page.locator('[data-next="campaign"]').getByRole('link', { name: 'Create a campaign' })).toHaveAttribute('href', '/app/campaigns');
  await expect(page.locator('.empty-state').last()).toContainText('Nothing happened in this period yet');

  const slug = uniqueSlug('dash');
  await createLiveCampaign(page, 'Dashboard', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');
  const sandbox = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');

  // Ann joins; Bob and Cara join through her link, each from their own browser.
  const visitor = await browser.newPage();
  const ann = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', ann);
  const link = new URL(await visitor.locator('#referral-link').inputValue()).pathname;
  const bob = uniqueEmail('bob');
  const cara = uniqueEmail('cara');
  for (const [name, email] of [['Bob', bob], ['Cara', cara]]) {
    const friend = await browser.newPage();
    await join(friend, link, name, email);
    await expect(friend.getByRole('heading', { level: 1 })).toHaveText(`You're in, ${name}!`);
    await friend.close();
  }

  // Bob pays 60.00 (past the target), Cara 20.00 (below it), in the sandbox's dashboard.
  for (const [email, amount] of [[bob, '60.00'], [cara, '20.00']]) {
    await expect(async () => {
      await page.goto(sandbox);
      await expect(page.getByLabel(`Amount for ${email}`)).toBeVisible({ timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await page.getByLabel(`Amount for ${email}`).fill(amount);
    await page.getByRole('button', { name: `Pay as ${email}` }).click();
    await expect(page.getByText(/Payment of .* succeeded/)).toBeVisible();
  }

  // The dashboard: 80.00 USD from invited friends, a 10.00 USD credit issued, the funnel from
  // the two clicks on Ann's link to one qualified friend, and Ann on top.
  const figure = (name: string) => page.locator(`[data-figure="${name}"]`);
  await expect(async () => {
    await page.goto('/app');
    await expect(figure('revenue')).toHaveText('80.00 USD', { timeout: 500 });
    await expect(figure('cost')).toHaveText('10.00 USD', { timeout: 500 });
  }).toPass({ timeout: 20_000 });
  await hydrated(page);
  await expect(figure('return')).toHaveText('8.0×');
  const step = (name: string) => page.locator(`tr[data-step="${name}"] td`);
  await expect(step('Clicks')).toHaveText(['2', '—']);
  await expect(step('Joined')).toHaveText(['3', '150%']);
  await expect(step('Friends invited')).toHaveText(['2', '67%']);
  await expect(step('Paying')).toHaveText(['2', '100%']);
  await expect(step('Qualified')).toHaveText(['1', '50%']);
  const top = page.locator('.top-referrers tbody tr');
  await expect(top).toHaveCount(1);
  await expect(top.locator('td')).toHaveText([`Ann${ann}`, '2', '2', '80.00 USD', '10.00 USD']);
  await expect(figure('time-to-qualify')).not.toHaveText('—');
  await expect(page.locator('.chart svg[role="img"]').first()).toHaveAttribute('aria-label', /80\.00 USD in all/);

  // The period is in the address; a custom period before the campaign shows nothing.
  await page.getByRole('link', { name: 'Last 7 days' }).click();
  await expect(page).toHaveURL(/\/app\?period=7d$/);
  // The page is drawn for the new period (its picker with it) before the dates are typed.
  await expect(page.locator('.period-label')).toHaveText('Last 7 days');
  await expect(figure('revenue')).toHaveText('80.00 USD');
  await page.getByLabel('From', { exact: true }).fill('2020-01-01');
  await page.getByLabel('To', { exact: true }).fill('2020-01-31');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/period=custom&from=2020-01-01&to=2020-01-31/);
  await expect(page.locator('.period-label')).toHaveText('1 Jan 2020 to 31 Jan 2020');
  await expect(figure('revenue')).toHaveText('0.00');

  // Each table downloads as CSV.
  await page.goto('/app?period=30d');
  await hydrated(page);
  const download = page.waitForEvent('download');
  await page.locator('section', { hasText: 'Top referrers' }).getByRole('link', { name: 'Download CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^refloop-account-referrers-.*\.csv$/);

  // The campaign's Overview has the same figures for the campaign.
  await page.goto(campaign);
  await expect(figure('revenue')).toHaveText('80.00 USD');
  await expect(page.locator('.top-referrers tbody tr')).toHaveCount(1);

  await page.goto('/app');
  await hydrated(page);
  await screenshots(page, testInfo, 'dashboard');
  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  // Each link a marketer shares has its own labelled block and a Copy button; the embed snippet
  // no longer runs into the next field's label.
  const snippet = await page.getByLabel('Embed on your site').boundingBox();
  const next = await page.locator('label[for="share-text"]').boundingBox();
  expect(snippet!.y + snippet!.height).toBeLessThanOrEqual(next!.y);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const joinBlock = page.locator('.copy-block', { has: page.getByLabel('Join link (people referring)') });
  await joinBlock.getByRole('button', { name: 'Copy' }).click();
  await expect(joinBlock.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(new RegExp(`/j/${slug}$`));
  await screenshots(page, testInfo, 'promote-step');
});
