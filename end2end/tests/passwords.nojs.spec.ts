import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test, expect } from './fixtures';
import { PASSWORD, uniqueEmail } from './helpers';

const NEW_PASSWORD = 'a brand new passphrase';

/** Signs up through the form (no JavaScript needed); ends on the dashboard. */
async function signUp(page: import('@playwright/test').Page, name: string, email: string) {
  await page.goto('/signup');
  await page.getByLabel('Company').fill('Acme');
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${name}`);
}

/** The operator's `refloop admin reset-password EMAIL`, run against the suite's database. */
function operatorResetLink(email: string): string {
  const env = process.env;
  const out = execFileSync(env.REFLOOP_BIN ?? join(__dirname, '..', '..', 'dist', 'refloop'), ['admin', 'reset-password', email], {
    env: {
      ...env,
      DATABASE_URL: `sqlite://${env.REFLOOP_E2E_DATA}/refloop.db`,
      REFLOOP_PUBLIC_URL: `http://127.0.0.1:${env.REFLOOP_E2E_PORT}`,
      RUST_LOG: 'warn',
    },
  }).toString();
  const link = out.match(/http\S+\/reset-password\/\S+/);
  expect(link, out).not.toBeNull();
  return link![0];
}

test('a member changes their password, and signs out everywhere, without JavaScript', async ({ page, browser }) => {
  const gail = uniqueEmail('gail');
  await signUp(page, 'Gail', gail);
  // A second device, signed in too.
  const phone = await browser.newPage({ javaScriptEnabled: false });
  await phone.goto('/signin');
  await phone.getByLabel('Email').fill(gail);
  await phone.getByLabel('Password').fill(PASSWORD);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await expect(phone.getByRole('heading', { level: 1 })).toHaveText('Welcome, Gail');

  await page.getByRole('link', { name: /Gail/ }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Your account');
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#current_password-error')).toContainText('That is not your current password.');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/app\/account/);
  // The other device was signed out; this one was not.
  await phone.goto('/app/team');
  await expect(phone).toHaveURL(/\/signin/);
  await page.goto('/app/account');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Your account');

  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto('/app/team');
  await expect(page).toHaveURL(/\/signin/);
  await page.getByLabel('Email').fill(gail);
  await page.getByLabel('Password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Gail');
  await phone.close();
});

test('a forgotten password: no mail server here, so the operator hands over a one-time link', async ({ page }) => {
  const hal = uniqueEmail('hal');
  await signUp(page, 'Hal', hal);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill(hal);
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await expect(page.getByRole('alert')).toContainText('refloop admin reset-password');

  const link = operatorResetLink(hal);
  await page.goto(link);
  await expect(page.getByText(`For ${hal}.`)).toBeVisible();
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Save and sign in' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Hal');
  // Once only.
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('This link cannot be used');
});
