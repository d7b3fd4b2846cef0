// Emails to participants, read where they arrive: this Refloop sends through maildev (a real
// SMTP server, started by the Playwright config), and the test reads its inbox over maildev's
// REST API, following the links in the emails as a person would.
import type { APIRequestContext } from '@playwright/test';
import { expect, test, hydrated } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

const env = process.env;
const maildev = `http://127.0.0.1:${env.REFLOOP_E2E_MAILDEV_PORT}`;
test.use({ baseURL: `http://127.0.0.1:${env.REFLOOP_E2E_MAILED_PORT}` });

type Mail = { id: string; subject: string; text: string; to: { address: string }[] };

/** The email to `to` whose subject matches, once it has arrived (within 15 s). */
async function mailTo(request: APIRequestContext, to: string, subject: RegExp): Promise<Mail> {
  let found: Mail | undefined;
  await expect(async () => {
    const all: Mail[] = await (await request.get(`${maildev}/email`)).json();
    found = all.find((m) => m.to.some((t) => t.address === to) && subject.test(m.subject));
    expect(found, `an email to ${to} with a subject like ${subject}`).toBeTruthy();
  }).toPass({ timeout: 15_000 });
  return found!;
}

/** The path of the first link in `text` to one of Refloop's pages under `prefix` (/r/, /p/…). */
function linkIn(text: string, prefix: string): string {
  const m = text.match(new RegExp(`https?://[^\\s/]+(${prefix}[^\\s]+)`));
  expect(m, `a ${prefix} link in: ${text}`).not.toBeNull();
  return m![1];
}

test('participants hear of every step by email, can unsubscribe, and get their link back', async ({
  page,
  browser,
  request,
}) => {
  const alice = uniqueEmail('alice');
  await signUp(page, 'Acme', 'Alice Example', alice);
  const slug = uniqueSlug('mailed');
  await createLiveCampaign(page, 'Mailed', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const campaign = builder.replace(/\/edit$/, '');
  const dashboard = await connectSandbox(page);

  // Both audiences go to Stripe; 50.00 USD within 30 days qualifies; a 10.00 USD credit.
  await rewardSpend(page, builder, '50.00', '10.00');

  // Emails on: welcome, a friend joined, a reward, the reminder; and a test to Alice.
  await page.goto(`${builder}?step=emails`);
  await hydrated(page);
  await expect(page.locator('.emails .notice-warn')).toHaveCount(0);
  for (const kind of ['welcome', 'friend_joined', 'reward_earned', 'reminder']) {
    await page.locator(`fieldset[data-kind="${kind}"]`).getByLabel('Send it').check();
  }
  await page.getByRole('button', { name: 'Save emails' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  const welcomeCard = page.locator('.email-card', { has: page.locator('fieldset[data-kind="welcome"]') });
  await welcomeCard.getByRole('button', { name: 'Send me a test' }).click();
  await expect(welcomeCard.getByRole('status')).toHaveText(
    `A test of “[Test] Your referral link for Mailed” went to ${alice}.`,
  );
  await mailTo(request, alice, /^\[Test\] Your referral link for Mailed$/);

  // Ann joins: her welcome brings a referral link that works.
  const visitor = await browser.newPage();
  const ann = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', ann);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const welcome = await mailTo(request, ann, /^Your referral link for Mailed$/);
  const referral = linkIn(welcome.text, '/r/');
  const friend = await browser.newPage();
  const bob = uniqueEmail('bob');
  await join(friend, referral, 'Bob', bob);
  await expect(friend.getByRole('heading', { level: 1 })).toHaveText("You're in, Bob!");
  await mailTo(request, ann, /^Bob joined through your link$/);

  // Bob pays past the target in the sandbox: Ann hears of her credit.
  await expect(async () => {
    await page.goto(dashboard);
    await expect(page.getByLabel(`Amount for ${bob}`)).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await page.getByLabel(`Amount for ${bob}`).fill('60.00');
  await page.getByRole('button', { name: `Pay as ${bob}` }).click();
  await expect(page.getByText(/Payment of .* succeeded/)).toBeVisible();
  const reward = await mailTo(request, ann, /^You earned a reward: 10\.00 USD credit/);
  expect(reward.text).toContain('for referring Bob');

  // Ann unsubscribes with the link in that email: one button, no script needed.
  const unsubscribe = reward.text.match(/Unsubscribe: (\S+)/)![1];
  await visitor.goto(new URL(unsubscribe).pathname);
  await visitor.getByRole('button', { name: 'Unsubscribe' }).click();
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText('You are unsubscribed');
  await page.goto(`${campaign}/users?q=${encodeURIComponent(ann)}`);
  await page.getByRole('link', { name: 'Ann' }).click();
  await expect(page).toHaveURL(/\/users\/par_\w+$/);
  await expect(page.locator('.timeline')).toContainText('Unsubscribed from the campaign\'s emails');
  await expect(page.locator('.timeline')).toContainText('Email “You earned a reward”: Sent to');

  // A fresh browser, Ann's page lost: "Email me my link" brings her back to it.
  const fresh = await (await browser.newContext()).newPage();
  await fresh.goto(`/j/${slug}`);
  await fresh.getByText('Already joined? Email me my link').click();
  await fresh.getByLabel('The address you joined with').fill(ann);
  await fresh.getByRole('button', { name: 'Email me my link' }).click();
  await expect(fresh.getByRole('status').filter({ hasText: 'on its way' })).toBeVisible();
  const lost = await mailTo(request, ann, /^Your link for Mailed$/);
  await fresh.goto(linkIn(lost.text, '/p/'));
  await expect(fresh.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
});
