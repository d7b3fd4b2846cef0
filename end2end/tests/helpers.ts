import { expect, type Page } from '@playwright/test';

let counter = 0;
/** An email no other test in this run uses (the suite shares one database). */
export function uniqueEmail(name: string): string {
  counter += 1;
  return `${name}.${Date.now().toString(36)}${process.pid}${counter}@example.com`;
}

export const PASSWORD = 'correct horse battery';

/** Signs up through the form; ends on the dashboard. */
export async function signUp(page: Page, company: string, name: string, email: string) {
  await page.goto('/signup');
  await page.getByLabel('Company').fill(company);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${name}`);
}
