import { test, expect, hydrated } from './fixtures';

test('the welcome page hydrates and its tabs switch without a reload', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle('Welcome · Refloop');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'Referral programs that run on your Stripe data',
  );
  await hydrated(page);

  const panel = page.getByRole('tabpanel');
  await expect(panel).toContainText('Connect your Stripe account');

  const referrer = page.getByRole('tab', { name: 'The person referring' });
  await referrer.click();
  await expect(referrer).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tab', { name: 'Your marketing team' })).toHaveAttribute('aria-selected', 'false');
  await expect(panel).toContainText('gets a personal referral link');
  await expect(panel).not.toContainText('Connect your Stripe account');

  await page.getByRole('tab', { name: 'The friend they invite' }).click();
  await expect(panel).toContainText('reaching the target spend');

  // The instance facts come from a server function and name the embedded database.
  await expect(page.locator('.instance-info')).toContainText('SQLite');
});

test('an unknown address shows the not-found page with a way back', async ({ page }) => {
  const response = await page.goto('/campaigns/does-not-exist');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('link', { name: 'Go to the start page' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'Referral programs that run on your Stripe data',
  );
});
