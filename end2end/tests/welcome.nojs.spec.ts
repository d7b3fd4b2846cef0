import { test, expect } from './fixtures';

test('the welcome page is complete without JavaScript', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'Referral programs that run on your Stripe data',
  );
  await expect(page.getByRole('tabpanel')).toContainText('Connect your Stripe account');
  await expect(page.locator('.instance-info')).toContainText('SQLite');
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
});
