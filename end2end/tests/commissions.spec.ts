import type { APIRequestContext, Page } from '@playwright/test';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

const DAY = 86_400;

/**
 * The merchant's backend: calls the sandbox's Stripe API with a restricted key of the merchant's
 * sandbox account, made by the signed-in Owner as they would make one in Stripe's dashboard.
 */
async function merchantBackend(request: APIRequestContext, account: string) {
  const made = await request.post('/sandbox/stripe/_sandbox/keys', {
    data: {
      account,
      permissions: ['rak_customer_write', 'rak_price_write', 'rak_checkout_session_write', 'rak_test_clock_write'],
    },
  });
  expect(made.ok(), await made.text()).toBeTruthy();
  const { key } = await made.json();
  return async (path: string, form: Record<string, string>) => {
    const res = await request.post(`/sandbox/stripe/v1/${path}`, { headers: { authorization: `Bearer ${key}` }, form });
    expect(res.ok(), `${path}: ${await res.text()}`).toBeTruthy();
    return res.json();
  };
}

/** The reward ledger's rows for `friend`, once they have these statuses (in any order). */
async function expectEntries(page: Page, builder: string, friend: string, statuses: string[]) {
  const rows = page.locator('.reward-ledger tr[data-reward]', { hasText: friend });
  await expect(async () => {
    await page.goto(`${builder}?step=rewards`);
    await expect(rows).toHaveCount(statuses.length, { timeout: 500 });
    const have = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
    expect(have.sort()).toEqual([...statuses].sort());
  }).toPass({ timeout: 15_000 });
  return rows;
}

/** Ann's credit balance in the sandbox dashboard, once it reads `balance`. */
async function expectCredit(page: Page, dashboard: string, ann: string, balance: string) {
  await expect(async () => {
    await page.goto(dashboard);
    const annRow = page.locator('tr[data-customer]', { has: page.locator('td:first-child', { hasText: ann }) });
    await expect(annRow).toContainText(balance, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
}

test('a friend subscribes; each month earns a 20% commission, held 14 days on the test clock, then issued', async ({
  page,
  browser,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('saas');
  await createLiveCampaign(page, 'SaaS', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const dashboard = await connectSandbox(page);
  const account = new URL(dashboard, 'http://x').searchParams.get('account')!;
  await rewardSpend(page, builder, '40.00', '10.00');

  // The rule becomes a commission: 20% of each payment for 12 months, as Stripe credit, each
  // held 14 days after its payment. (The form is drawn again when the rewards saved before are
  // read back; a choice made before that is made again until its fields show.)
  const rule = page.locator('.reward-rule').first();
  await expect(async () => {
    await rule.locator('select[name="basis"]').selectOption('percent');
    await expect(rule.locator('input[name="percent"]')).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await rule.locator('input[name="percent"]').fill('20');
  await rule.locator('select[name="span"]').selectOption('months');
  await rule.locator('input[name="months"]').fill('12');
  await rule.locator('input[name="hold_days"]').fill('14');
  const saved = page.waitForResponse((r) => r.url().includes('/api/save_rewards') && r.ok());
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await saved;
  await page.goto(`${builder}?step=rewards`);
  await hydrated(page);
  await expect(rule.locator('input[name="percent"]')).toHaveValue('20');
  await expect(rule.locator('input[name="hold_days"]')).toHaveValue('14');

  // Ann joins and shares her link.
  const visitor = await browser.newPage();
  const ann = uniqueEmail('ann');
  await join(visitor, `/j/${slug}`, 'Ann', ann);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const code = (await visitor.locator('#referral-link').inputValue()).split('/r/')[1];
  await visitor.close();

  // Bob signs up in the merchant's app, whose backend makes him a customer on a test clock (a
  // minute ahead, so that his first invoice comes after he has joined) and opens a Checkout for
  // the 49.00 monthly plan with Ann's code as its reference.
  const stripe = await merchantBackend(page.request, account);
  const start = Math.floor(Date.now() / 1000) + 60;
  const clock = await stripe('test_helpers/test_clocks', { frozen_time: String(start) });
  const bob = uniqueEmail('bob');
  const customer = await stripe('customers', { email: bob, name: 'Bob', test_clock: clock.id });
  const price = await stripe('prices', {
    currency: 'usd',
    unit_amount: '4900',
    'product_data[name]': 'Pro plan',
    'recurring[interval]': 'month',
  });
  const session = await stripe('checkout/sessions', {
    mode: 'subscription',
    'line_items[0][price]': price.id,
    'line_items[0][quantity]': '1',
    customer: customer.id,
    client_reference_id: code,
  });

  // Bob subscribes on Stripe's page.
  const bobContext = await browser.newContext();
  const checkout = await bobContext.newPage();
  await checkout.goto(session.url);
  await expect(checkout.locator('tr.total')).toContainText('49.00 USD per month');
  await checkout.getByLabel('Name on card').fill('Bob Builder');
  await checkout.getByLabel('Card number').fill('4242 4242 4242 4242');
  await checkout.getByRole('button', { name: 'Subscribe' }).click();
  await expect(checkout.getByRole('status')).toContainText('Subscribed: 49.00 USD per month');
  await bobContext.close();

  // His first payment earns Ann 9.80, held for 14 days.
  const rows = await expectEntries(page, builder, bob, ['held']);
  await expect(rows.first()).toContainText(/20% of 49\.00 USD paid on .+ by ch_\w+ = 9\.80 USD/);
  await expect(rows.first()).toContainText(/Held until .+: 14 days after ch_\w+, in case it is refunded or disputed/);
  await expect(rows.first()).toContainText(ann);

  // A month on the clock: the second invoice is paid; its commission is held, and the first's
  // hold is over on the clock, so it is issued as credit.
  await stripe(`test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: String(start + 31 * DAY) });
  await expectEntries(page, builder, bob, ['issued', 'held']);
  await expect(page.locator('.reward-ledger tr[data-status="held"]', { hasText: bob })).toContainText('Held until');
  await expectCredit(page, dashboard, ann, '-9.80 USD');

  // The clock passes the second hold's end: that commission is issued too.
  await stripe(`test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: String(start + 46 * DAY) });
  await expectEntries(page, builder, bob, ['issued', 'issued']);
  await expectCredit(page, dashboard, ann, '-19.60 USD');
});
