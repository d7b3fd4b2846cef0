import { test, expect, hydrated } from './fixtures';
import { signUp, uniqueEmail } from './helpers';

test('the operations page shows the queue of the account', async ({ page }) => {
  await signUp(page, 'Acme', 'Olivia Ops', uniqueEmail('olivia'));
  await page.getByRole('link', { name: 'Operations' }).click();
  await expect(page.getByRole('heading', { name: 'Operations', level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.locator('.queue-outlook')).toHaveText('Nothing is waiting.');
  await expect(page.getByRole('heading', { name: 'Dead jobs' })).toBeVisible();
});
