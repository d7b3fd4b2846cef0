import { expect, test, hydrated } from './fixtures';
import { connectSandbox, createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('people who join are sent to Stripe with their referral metadata, and their timeline says so', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('sending');
  await createLiveCampaign(page, 'Sending', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');

  const dashboard = await connectSandbox(page);

  // Map the fields of people referring: name and email are there; add a metadata key.
  await page.goto(`${campaign}/stripe`);
  await hydrated(page);
  const referring = page.locator('section[data-audience="referring"]');
  await referring.getByRole('button', { name: 'Add a metadata key' }).click();
  await referring.getByLabel('Metadata key').fill('signup_name');
  await referring.getByLabel('Participant field').selectOption('first_name');
  // Unmapping the email is refused, naming the field.
  await referring.locator('select[name="email"]').selectOption('');
  await referring.getByRole('button', { name: 'Save people referring settings' }).click();
  await expect(referring.locator('.field-error')).toContainText('Email');
  await referring.locator('select[name="email"]').selectOption('email');
  await referring.getByRole('button', { name: 'Save people referring settings' }).click();
  await expect(referring.getByText('Saved.')).toBeVisible();

  // Switch sending on from the Promote step.
  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  const toggle = page.locator('li[data-toggle="send_referrers"]');
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_promote_toggle') && r.ok());
  await toggle.getByRole('switch').check();
  await saved;

  // Someone joins through the public page.
  const visitor = await browser.newPage();
  const email = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', email);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");

  // Her timeline says what happened, within seconds.
  await page.goto(`${campaign}/users?q=${encodeURIComponent(email)}`);
  await page.getByRole('link', { name: 'Ann' }).click();
  // The router changes the address once the page's code has loaded; reload only then.
  await expect(page).toHaveURL(/\/users\/par_\w+$/);
  const sent = page.locator('.timeline li[data-kind="sent_to_stripe"]');
  await expect(async () => {
    await page.reload();
    await expect(sent).toContainText(/Created Stripe customer cus_\w+ \(test mode\)/, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  const customer = (await sent.textContent())!.match(/cus_\w+/)![0];

  // The sandbox dashboard shows the customer with Refloop's metadata.
  await page.goto(dashboard!);
  const row = page.locator('tr', { hasText: customer });
  await expect(row).toContainText(email);
  await expect(row).toContainText('referral_code');
  await expect(row).toContainText('referral_link');
  await expect(row).toContainText('signup_name = Ann');
});
