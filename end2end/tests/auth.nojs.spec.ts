import { test, expect } from './fixtures';
import { PASSWORD, uniqueEmail } from './helpers';

test('sign-up, sign-out and sign-in work without JavaScript', async ({ page }) => {
  const dana = uniqueEmail('dana');
  await page.goto('/signup');
  await page.getByLabel('Company').fill('Acme');
  await page.getByLabel('Your name').fill('Dana');
  await page.getByLabel('Work email').fill(dana);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Dana');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin/);

  await page.getByLabel('Email').fill(dana);
  await page.getByLabel('Password').fill('wrong password!');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#password-error')).toContainText('That password is not right');

  await page.getByLabel('Email').fill(dana);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Dana');
});

test('a sign-up with a taken email says so without JavaScript', async ({ page }) => {
  const erin = uniqueEmail('erin');
  for (const attempt of [1, 2]) {
    await page.context().clearCookies();
    await page.goto('/signup');
    await page.getByLabel('Company').fill('Acme');
    await page.getByLabel('Your name').fill('Erin');
    await page.getByLabel('Work email').fill(erin);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    if (attempt === 1) await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Erin');
  }
  await expect(page.locator('#email-error')).toContainText('already has a Refloop account');
});
