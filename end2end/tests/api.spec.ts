import SwaggerParser from '@apidevtools/swagger-parser';
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

test('the OpenAPI document validates, and the API reference page in the app is drawn from it', async ({ page, request }) => {
  const res = await request.get('/api/v1/openapi.json');
  expect(res.status()).toBe(200);
  expect(res.headers()['access-control-allow-origin']).toBe('*');
  const doc = await res.json();
  expect(doc.openapi).toBe('3.1.0');
  // A maintained validator: the OpenAPI 3.1 schema, and every $ref resolved.
  const valid = await SwaggerParser.validate(structuredClone(doc));
  expect(Object.keys(valid.paths!)).toEqual(expect.arrayContaining(['/participants', '/rewards', '/widget']));

  // Any teammate reads the reference; each route there, with its summary, from the document.
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  await page.goto('/app/integrations');
  await hydrated(page);
  await page.getByRole('link', { name: 'API reference' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('API reference');
  await expect(page.locator('.api-base')).toHaveText(`${doc.servers[0].url}`);
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const anchor = `${method}-${path}`.replace(/[^A-Za-z0-9]/g, '-').replace(/-+/g, '-').replace(/-$/, '');
      const section = page.locator(`section.api-operation#${anchor}`);
      await expect(section.getByRole('heading', { level: 2 })).toHaveText(`${method.toUpperCase()} ${path}`);
      await expect(section).toContainText(op.summary);
    }
  }
  await expect(page.locator('#schema-Participant')).toContainText('referral_link');
});
