import { expect, hydrated, test } from './fixtures';
import { createLiveCampaign, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('an API key is made on Integrations and shown once, enrols someone through the API, and stops working when revoked', async ({
  page,
  playwright,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('api');
  await createLiveCampaign(page, 'API', slug);
  await page.goto('/app/integrations');
  await hydrated(page);
  const section = page.locator('section.api-keys');
  await section.getByLabel('Name').fill('Signup backend');
  await section.getByLabel('Access').selectOption('read_write');
  await section.getByRole('button', { name: 'Create key' }).click();
  const shown = section.getByLabel('The new API key');
  await expect(shown).toHaveValue(/^rfk_/);
  const key = await shown.inputValue();
  const row = section.locator('tr', { hasText: 'Signup backend' });
  await expect(row).toContainText(`${key.slice(0, 12)}…`);
  await expect(row).toContainText('Read and write, every campaign');
  await expect(row).toContainText('Never');

  // The merchant's backend enrols someone with it.
  const api = await playwright.request.newContext({
    baseURL: new URL(page.url()).origin,
    extraHTTPHeaders: { authorization: `Bearer ${key}` },
  });
  const email = uniqueEmail('ann');
  const enrolled = await api.post('/api/v1/participants', {
    data: { campaign: slug, email, first_name: 'Ann' },
    headers: { 'idempotency-key': `enrol-${email}` },
  });
  expect(enrolled.status()).toBe(201);
  const ann = await enrolled.json();
  expect(ann.email).toBe(email);
  expect(ann.referral_link).toContain(`/r/${ann.referral_code}`);

  // Reloaded, the key is not shown again, and its last use is.
  await page.reload();
  await hydrated(page);
  await expect(section.getByLabel('The new API key')).toHaveCount(0);
  await expect(row).not.toContainText('Never');
  await row.getByRole('button', { name: 'Revoke Signup backend' }).click();
  await expect(row).toContainText('Revoked');
  expect((await api.get('/api/v1/participants')).status()).toBe(401);
  await api.dispose();
});
