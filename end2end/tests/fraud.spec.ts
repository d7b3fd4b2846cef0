import type { Page } from '@playwright/test';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

/** Sets what the campaign does when a friend's email is the referrer's own mailbox, and saves. */
async function sameEmail(page: Page, builder: string, response: 'off' | 'flag' | 'refuse') {
  await page.goto(`${builder}?step=rewards`);
  await hydrated(page);
  const select = page.getByLabel(/Same person by email/);
  // (The form is drawn again when the saved rewards are read back; a choice made before that is
  // made again until it holds.)
  await expect(async () => {
    await select.selectOption(response);
    await expect(select).toHaveValue(response, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  const saved = page.waitForResponse((r) => r.url().includes('/api/save_rewards') && r.ok());
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await saved;
  await page.reload();
  await expect(page.getByLabel(/Same person by email/)).toHaveValue(response);
}

test('a friend on the referrer’s own mailbox is refused, or flagged and their reward waits for review with the evidence', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('fraud');
  await createLiveCampaign(page, 'Fraud', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');
  const dashboard = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');
  await expect(page.getByLabel(/Same person by email/)).toHaveValue('flag');

  const visitor = await browser.newPage();
  const ann = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', ann);
  const link = await visitor.locator('#referral-link').inputValue();
  await visitor.close();
  const tagged = (tag: string) => ann.replace('@', `+${tag}@`);

  // Set to refuse: Ann's own +tag is turned away, told nothing about why.
  await sameEmail(page, builder, 'refuse');
  const first = await browser.newContext();
  const refused = await first.newPage();
  await join(refused, new URL(link).pathname, 'Annie', tagged('1'));
  await expect(refused.getByRole('alert')).toHaveText(
    'We could not add you to this referral program. If you think this is a mistake, contact the company that invited you.',
  );
  await first.close();

  // Set to flag: the next one joins, and pays past the target.
  await sameEmail(page, builder, 'flag');
  const second = await browser.newContext();
  const friend = await second.newPage();
  const bob = tagged('2');
  await join(friend, new URL(link).pathname, 'Bob', bob);
  await expect(friend.getByRole('heading', { level: 1 })).toHaveText("You're in, Bob!");
  await second.close();
  await expect(async () => {
    await page.goto(dashboard);
    await page.getByLabel(`Amount for ${bob}`).fill('60.00', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await page.getByRole('button', { name: `Pay as ${bob}` }).click();
  await expect(page.getByRole('status')).toContainText('Payment of 60.00 USD by');

  // Ann's reward waits for review, with the evidence; approving issues it.
  const row = page.locator('.reward-ledger tr[data-reward]', { hasText: bob });
  await expect(async () => {
    await page.goto(`${builder}?step=rewards`);
    await expect(row).toHaveAttribute('data-status', 'awaiting_approval', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(row).toContainText(`Waiting for review, as its referral was flagged: Same person by email: ${bob} and Ann's ${ann} both reach the mailbox ${ann} (a +tag)`);
  await hydrated(page);
  await row.getByRole('button', { name: 'Approve' }).click();
  await expect(async () => {
    await page.goto(`${builder}?step=rewards`);
    await expect(row).toHaveAttribute('data-status', 'issued', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(async () => {
    await page.goto(dashboard);
    const annRow = page.locator('tr[data-customer]', { has: page.locator('td:first-child', { hasText: ann }) });
    await expect(annRow).toContainText('-10.00 USD', { timeout: 500 });
  }).toPass({ timeout: 15_000 });

  // The overview counts the refusal and the flag; Bob's timeline shows the evidence.
  await page.goto(campaign);
  await expect(page.locator('table', { hasText: 'Reason' })).toContainText('Likely self-referral: same person by email');
  await expect(page.locator('.flags tbody tr td')).toHaveText(['Same person by email', '0', '1', '0']);
  await page.goto(`${campaign}/users?q=${encodeURIComponent(bob)}`);
  await page.getByRole('link', { name: 'Bob' }).click();
  await expect(page.locator('.timeline li[data-kind="flagged"]')).toContainText('both reach the mailbox');
});

test('a friend who joins in the referrer’s browser and pays with the referrer’s card waits for review with the evidence of each, and approving issues the reward', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('fraud');
  await createLiveCampaign(page, 'Fraud', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const dashboard = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');

  /** Pays `amount` USD as `email` on the sandbox's dashboard with the test card `card`. */
  const pay = async (email: string, amount: string, card: string) => {
    await expect(async () => {
      await page.goto(dashboard);
      await page.getByLabel(`Amount for ${email}`).fill(amount, { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await page.getByLabel(`Card for ${email}`).selectOption({ label: card });
    await page.getByRole('button', { name: `Pay as ${email}` }).click();
    await expect(page.getByRole('status')).toContainText(`Payment of ${amount} USD by`);
  };

  // Ann joins, and pays the merchant with her Visa.
  const annsBrowser = await browser.newContext();
  const tab = await annsBrowser.newPage();
  const ann = uniqueEmail('ann');
  await join(tab, `/j/${slug}`, 'Ann', ann);
  const link = await tab.locator('#referral-link').inputValue();
  await pay(ann, '20.00', 'Visa ••4242');

  // In the same browser, she opens her own link and joins again as ann+2, then pays with the
  // same card.
  const bob = ann.replace('@', '+2@');
  await join(tab, new URL(link).pathname, 'Bob', bob);
  await expect(tab.getByRole('heading', { level: 1 })).toHaveText("You're in, Bob!");
  await annsBrowser.close();
  await pay(bob, '60.00', 'Visa ••4242');
  await expect(page.locator('tr[data-charge]', { hasText: '60.00 USD' })).toContainText('visa ••4242 (fingerprint ');

  // Ann's reward waits for review, with the email, the browser and the card as evidence.
  const row = page.locator('.reward-ledger tr[data-reward]', { hasText: bob });
  await expect(async () => {
    await page.goto(`${builder}?step=rewards`);
    await expect(row).toHaveAttribute('data-status', 'awaiting_approval', { timeout: 500 });
    await expect(row).toContainText('Same card:', { timeout: 500 });
  }).toPass({ timeout: 20_000 });
  await expect(row).toContainText(`Same person by email: ${bob} and Ann's ${ann} both reach the mailbox ${ann} (a +tag)`);
  await expect(row).toContainText(`Same browser: ${bob} joined in the browser Ann (${ann}) joined in at `);
  await expect(row).toContainText(new RegExp(`Same card: ${bob.replace(/[.+]/g, '\\$&')}'s card visa ••4242 \\(fingerprint \\w{16}\\) paid ch_\\w+ on .*, and Ann paid with it as customer cus_\\w+ on `));

  // Approving issues it: Ann's credit in Stripe.
  await hydrated(page);
  await row.getByRole('button', { name: 'Approve' }).click();
  await expect(async () => {
    await page.goto(`${builder}?step=rewards`);
    await expect(row).toHaveAttribute('data-status', 'issued', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(async () => {
    await page.goto(dashboard);
    const annRow = page.locator('tr[data-customer]', { has: page.locator('td:first-child', { hasText: ann }) });
    await expect(annRow).toContainText('-10.00 USD', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
});
