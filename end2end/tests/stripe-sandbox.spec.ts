import { test, expect } from './fixtures';
import { connectSandbox, signUp, uniqueEmail } from './helpers';

test('the sandbox dashboard shows its own account\'s customers and plays the merchant: a payment, then a refund', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Dash Co', 'Dana Dash', uniqueEmail('dana'));
  const dashboard = await connectSandbox(page);
  const account = new URL(dashboard, 'http://x').searchParams.get('account')!;

  // A customer made in the dashboard itself, as the merchant would.
  await page.goto(dashboard);
  await page.getByLabel("New customer's email").fill('dash@example.com');
  await page.getByLabel("New customer's name").fill('Dash <b>bold</b>');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await expect(page.getByRole('status')).toContainText('Created customer cus_');
  const row = page.locator('tr[data-customer]').first();
  await expect(row).toContainText('dash@example.com');
  // Shown as typed, never as markup.
  await expect(row).toContainText('Dash <b>bold</b>');
  await expect(row.locator('b')).toHaveCount(0);

  await page.getByLabel('Amount for dash@example.com').fill('12.34');
  await page.getByRole('button', { name: 'Pay as dash@example.com' }).click();
  await expect(page.getByRole('status')).toContainText('Payment of 12.34 USD by');
  const charge = page.locator('tr[data-charge]').first();
  await expect(charge).toContainText('12.34 USD');

  await charge.getByRole('button', { name: 'Refund' }).click();
  await expect(page.getByRole('status')).toContainText('Refunded 12.34 USD');
  await expect(page.locator('tr[data-charge]').first()).not.toContainText('Refund');

  // The page runs no script at all.
  const res = await page.request.get(dashboard);
  expect(res.headers()['content-security-policy']).toContain("default-src 'none'");

  // Someone else's Refloop account sees none of it, and a visitor is sent to sign in.
  const other = await browser.newPage();
  await signUp(other, 'Other Co', 'Olga Other', uniqueEmail('olga'));
  const stranger = await other.goto(`/sandbox/stripe/?account=${account}`);
  expect(stranger!.status()).toBe(404);
  await expect(other.locator('body')).not.toContainText('dash@example.com');
  await other.goto('/sandbox/stripe/');
  await expect(other.locator('body')).not.toContainText(account);
  await other.close();

  const visitor = await browser.newPage();
  await visitor.goto(dashboard);
  await expect(visitor).toHaveURL(/\/signin$/);
  await visitor.close();
});
