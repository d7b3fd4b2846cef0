import { expect, test, hydrated } from './fixtures';
import { connectSandbox, createLiveCampaign, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('a one-time sync runs from the wizard, and the ongoing sync enrols a customer created in the sandbox', async ({
  page,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('sync');
  await createLiveCampaign(page, 'Sync', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');

  const dashboard = await connectSandbox(page);

  const createCustomer = async (email: string, name: string) => {
    await page.goto(dashboard);
    await page.getByLabel("New customer's email").fill(email);
    await page.getByLabel("New customer's name").fill(name);
    await page.getByRole('button', { name: 'Create customer' }).click();
    await expect(page.getByText(/Created customer cus_/)).toBeVisible();
  };
  const carl = uniqueEmail('carl');
  const nameless = uniqueEmail('nameless');
  await createCustomer(carl, 'Carl Jung');
  await createCustomer(nameless, '');

  // The wizard, from the Users tab: a preview, then the run, watched to the end.
  await page.goto(`${campaign}/users`);
  await hydrated(page);
  await page.getByRole('link', { name: 'Sync Stripe customers…' }).click();
  await expect(page.getByRole('heading', { name: 'Sync Stripe customers' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.locator('.sync-preview')).toContainText(`Would enrol Carl Jung <${carl}>`);
  await expect(page.locator('.sync-preview')).toContainText('Would skip: First name (from the customer\'s name) is blank in Stripe');
  await page.getByRole('button', { name: 'Start one-time sync' }).click();
  await expect(page.getByText('Sync started: watch its progress above.')).toBeVisible();
  const run = page.locator('.sync-panel .sync-run');
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
  await expect(run.locator('.sync-read')).toHaveText('2');
  await expect(run.locator('.sync-enrolled')).toHaveText('1');
  await expect(run.locator('.sync-skipped')).toHaveText('1');
  await expect(run.locator('.sync-written')).toHaveText('1');
  await run.getByRole('link', { name: 'See the skipped customers' }).click();
  const report = page.locator('table.sync-skipped');
  await expect(report).toContainText(nameless);
  await expect(report).toContainText("First name (from the customer's name) is blank in Stripe");

  // Carl is in the campaign, in Stripe.
  await page.goto(`${campaign}/users?q=${encodeURIComponent(carl)}`);
  await expect(page.locator('table.participants')).toContainText(carl);
  await expect(page.locator('table.participants')).toContainText('In Stripe');

  // Ongoing: switched on from the wizard, then a new customer arrives within seconds.
  await page.goto(`${campaign}/sync`);
  await hydrated(page);
  await page.getByRole('radio', { name: /Ongoing/ }).check();
  await page.getByRole('button', { name: 'Save and switch ongoing sync on' }).click();
  await expect(page.getByText('Ongoing sync is on')).toBeVisible();
  await page.goto(`${builder}?step=promote`);
  await expect(page.locator('li[data-toggle="ongoing_sync"] .switch-state')).toHaveText('On');

  const dana = uniqueEmail('dana');
  await createCustomer(dana, 'Dana Scully');
  await expect(async () => {
    await page.goto(`${campaign}/users?q=${encodeURIComponent(dana)}`);
    await expect(page.locator('table.participants')).toContainText(dana, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  const code = (await page.locator('table.participants code').first().textContent())!.trim();
  // Her referral link is on her customer in the sandbox.
  await expect(async () => {
    await page.goto(dashboard);
    await expect(page.locator('tr', { hasText: dana })).toContainText(`/r/${code}`, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
});
