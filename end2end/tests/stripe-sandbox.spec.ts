import { test, expect } from './fixtures';

test('the sandbox dashboard shows customers and plays the merchant: a payment, then a refund', async ({
  page,
  request,
}) => {
  const created = await request.post('/sandbox/stripe/_sandbox/accounts', { data: { name: 'Dashboard test' } });
  expect(created.ok()).toBeTruthy();
  const { account, secret_key } = await created.json();
  const customer = await request.post('/sandbox/stripe/v1/customers', {
    headers: { Authorization: `Bearer ${secret_key}` },
    form: { email: 'dash@example.com', name: 'Dash', 'metadata[referral_code]': 'DASH1' },
  });
  expect(customer.ok()).toBeTruthy();
  const { id } = await customer.json();

  await page.goto(`/sandbox/stripe/?account=${account}`);
  const row = page.locator(`tr[data-customer="${id}"]`);
  await expect(row).toContainText('dash@example.com');
  await expect(row).toContainText('referral_code = DASH1');

  await page.getByLabel('Amount for dash@example.com').fill('12.34');
  await page.getByRole('button', { name: 'Pay as dash@example.com' }).click();
  await expect(page.getByRole('status')).toContainText('Payment of 12.34 USD by');
  const charge = page.locator('tr[data-charge]').first();
  await expect(charge).toContainText('12.34 USD');

  await charge.getByRole('button', { name: 'Refund' }).click();
  await expect(page.getByRole('status')).toContainText('Refunded 12.34 USD');
  await expect(page.locator('tr[data-charge]').first()).not.toContainText('Refund');

  // The API agrees with what the page shows.
  const charges = await request.get(`/sandbox/stripe/v1/charges?customer=${id}`, {
    headers: { Authorization: `Bearer ${secret_key}` },
  });
  const list = await charges.json();
  expect(list.data[0].amount_refunded).toBe(1234);
});
