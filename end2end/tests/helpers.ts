import { expect, type Page } from '@playwright/test';
import { hydrated } from './fixtures';

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

/** Creates a campaign through the forms and launches it; ends in its builder. */
export async function createLiveCampaign(page: Page, name: string, slug: string) {
  await page.goto('/app/campaigns');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Link name').fill(slug);
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page.getByRole('heading', { name: 'Setup' })).toBeVisible();
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(page.locator('h1 .badge')).toHaveText('Live');
}

/** A link name no other test in this run uses. */
export function uniqueSlug(name: string): string {
  counter += 1;
  return `${name}-${Date.now().toString(36)}${process.pid}${counter}`;
}

/** Joins a campaign through its public page (or a referral link); ends on the personal page. */
export async function join(page: Page, path: string, firstName: string, email: string) {
  await page.goto(path);
  await page.getByLabel('First name').fill(firstName);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Join' }).click();
}

/** Connects the built-in Stripe sandbox on the Integrations page; the address of its dashboard. */
export async function connectSandbox(page: Page): Promise<string> {
  await page.goto('/app/integrations');
  await hydrated(page);
  await page.getByRole('button', { name: 'Connect Stripe' }).click();
  await expect(page.locator('.status-ok')).toContainText('Built-in Stripe sandbox (test mode)');
  return (await page.getByRole('link', { name: 'See its customers' }).getAttribute('href'))!;
}

/**
 * Sets a live campaign up to reward spend: both audiences go to Stripe, `target` USD within 30
 * days qualifies a referral, and the person referring gets a `credit` USD credit, issued
 * automatically (reversed on refund when asked). Ends on the builder's Rewards step.
 */
export async function rewardSpend(page: Page, builder: string, target: string, credit: string, reverseOnRefund = false) {
  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  for (const toggle of ['send_referrers', 'send_friends']) {
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_promote_toggle') && r.ok());
    await page.locator(`li[data-toggle="${toggle}"]`).getByRole('switch').check();
    await saved;
  }
  await page.goto(`${builder}?step=qualification`);
  await hydrated(page);
  await page.locator('input[name="target"]').fill(target);
  await page.locator('input[name="window_days"]').fill('30');
  await page.getByRole('button', { name: 'Save qualification settings' }).click();
  await expect(page.getByText('Saved; the webhook endpoint is ready.')).toBeVisible();
  await expect(page.locator('.webhook [data-status]')).toHaveText('Enabled');
  await expect(page.locator('.rule-summary')).toContainText(`Spend ${target} USD within 30 days of joining`);
  await page.goto(`${builder}?step=rewards`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Add a reward rule' }).click();
  const rule = page.locator('.reward-rule').first();
  await rule.locator('input[name="amount"]').fill(credit);
  if (reverseOnRefund) await rule.getByRole('checkbox', { name: /Reverse the credit/ }).check();
  await page.getByRole('checkbox', { name: /Issue rewards automatically/ }).check();
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(page.locator('.rewards').getByText('Saved.')).toBeVisible();
}
