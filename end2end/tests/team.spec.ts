import { test, expect, hydrated, watchForProblems } from './fixtures';
import { PASSWORD, signUp, uniqueEmail } from './helpers';

test('a viewer sees integrations disabled with who can help, until the owner grants the permission', async ({
  page,
  browser,
}) => {
  const alice = uniqueEmail('alice');
  const bob = uniqueEmail('bob');
  await signUp(page, 'Acme', 'Alice Example', alice);
  await hydrated(page);

  // Alice invites Bob as a Viewer and copies the single-use link.
  await page.getByRole('link', { name: 'Team' }).first().click();
  await expect(page.getByRole('heading', { name: 'Team', level: 1 })).toBeVisible();
  await page.getByLabel('Email').fill(bob);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const linkField = page.getByLabel('Invitation link');
  await expect(linkField).toHaveValue(/\/invite\//);
  const link = await linkField.inputValue();
  await expect(page.getByText(`${bob} as Viewer, invited by Alice Example`)).toBeVisible();

  // Bob joins in a browser of his own.
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  const bobProblems = watchForProblems(bobPage);
  await bobPage.goto(new URL(link).pathname);
  await expect(bobPage.getByRole('heading', { name: 'Join Acme on Refloop' })).toBeVisible();
  await bobPage.getByLabel('Your name').fill('Bob Example');
  await bobPage.getByLabel('Choose a password').fill(PASSWORD);
  await bobPage.getByRole('button', { name: 'Join the team' }).click();
  await expect(bobPage.getByRole('heading', { level: 1 })).toHaveText('Welcome, Bob Example');

  // The Stripe settings are read-only for him, and say whom to ask.
  await bobPage.goto('/app/integrations');
  await hydrated(bobPage);
  await expect(bobPage.locator('.permission-explanation')).toHaveText(
    `You need Manage integrations. Ask Alice Example (${alice}), the account owner.`,
  );
  await expect(bobPage.getByRole('button', { name: 'Connect Stripe' })).toBeDisabled();

  // Alice grants him Manage integrations.
  await page.reload();
  await hydrated(page);
  const bobRow = page.locator(`tr[data-member="${bob}"]`);
  await bobRow.getByText('Adjust permissions').click();
  await bobRow.getByRole('button', { name: 'Grant Manage integrations for Bob Example' }).click();
  await expect(bobRow.locator('.chips')).toContainText('Manage integrations');

  // Now Bob can open and use them.
  await bobPage.reload();
  await hydrated(bobPage);
  await expect(bobPage.locator('.permission-explanation')).toHaveCount(0);
  const connect = bobPage.getByRole('button', { name: 'Connect Stripe' });
  await expect(connect).toBeEnabled();
  await connect.click();
  await expect(bobPage.locator('.status-ok')).toContainText('Built-in Stripe sandbox (test mode)');

  // Alice sees both changes in the activity log, and can filter to Bob's.
  await page.goto('/app/activity');
  await expect(page.locator('table.activity')).toContainText('Granted Manage integrations to Bob Example');
  await page.getByLabel('Person').selectOption({ label: 'Bob Example' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('table.activity tbody tr')).toHaveCount(2);
  await expect(page.locator('table.activity')).toContainText('Connected Built-in Stripe sandbox (test mode)');

  expect(bobProblems).toEqual([]);
  await bobContext.close();
});

test('sign-up explains every wrong field, and sign-in and sign-out work', async ({ page }) => {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Company').fill('Acme');
  await page.getByLabel('Your name').fill('Carol');
  await page.getByLabel('Work email').fill('carol-at-example.com');
  await page.getByLabel('Password').fill('short');
  // The browser's own checks would stop this form; Refloop's server must explain it too.
  await page.locator('form').evaluate((f) => f.setAttribute('novalidate', ''));
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#email-error')).toContainText('has no @');
  await expect(page.locator('#password-error')).toContainText('at least 10 characters');
  await expect(page).toHaveURL(/\/signup$/);

  const carol = uniqueEmail('carol');
  await page.getByLabel('Work email').fill(carol);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Carol');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto('/app/team');
  await expect(page).toHaveURL(/\/signin$/);

  await hydrated(page);
  await page.getByLabel('Email').fill(carol);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#password-error')).toContainText('That password is not right');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Carol');
});
