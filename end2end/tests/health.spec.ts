import { expect, test, hydrated } from './fixtures';
import { connectSandbox, createLiveCampaign, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('the health page shows the webhook check failing once the endpoint is deleted in Stripe, and Repair makes it pass', async ({
  page,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  await createLiveCampaign(page, 'Health', uniqueSlug('health'));
  const builder = page.url().replace(/\?.*$/, '');
  const dashboard = await connectSandbox(page);

  // Saving the qualification settings creates Refloop's webhook endpoint in Stripe.
  await page.goto(`${builder}?step=qualification`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Save qualification settings' }).click();
  await expect(page.getByText('Saved; the webhook endpoint is ready.')).toBeVisible();

  const webhook = page.locator('li[data-check="webhook"]');
  await page.goto('/app/health');
  await hydrated(page);
  await expect(webhook.locator('.badge')).toHaveText('Passing');

  // Someone deletes the endpoint in the Stripe dashboard.
  await page.goto(dashboard);
  await page.getByRole('button', { name: 'Delete endpoint' }).click();
  await expect(page.getByText(/Deleted webhook endpoint/)).toBeVisible();

  await page.goto('/app/health');
  await hydrated(page);
  await expect(webhook.locator('.badge')).toHaveText('Failing');
  await expect(webhook.locator('.health-summary')).toContainText('The endpoint was deleted in Stripe');
  // The banner tells the people who can fix it, on every page, in the alert bar below the
  // header; dismissed, it stays away for the rest of the session.
  const banner = page.locator('.health-banner');
  await expect(banner).toContainText('Qualification settings and webhook');
  const header = await page.locator('.site-header').boundingBox();
  expect((await banner.boundingBox())!.y).toBeGreaterThanOrEqual(header!.y + header!.height);
  await banner.getByRole('button', { name: 'Dismiss' }).click();
  await expect(banner).toBeHidden();
  await page.goto('/app/campaigns');
  await hydrated(page);
  await expect(page.locator('.health-banner')).toBeHidden();
  await page.goto('/app/health');
  await hydrated(page);

  await webhook.getByRole('button', { name: 'Repair' }).click();
  await expect(page.getByText(/The webhook endpoint .* is enabled\./)).toBeVisible();
  await expect(webhook.locator('.badge')).toHaveText('Passing');
  await page.goto('/app/campaigns');
  await expect(page.locator('.health-banner')).toHaveCount(0);
});
