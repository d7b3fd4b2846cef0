import { test, expect, hydrated, watchForProblems } from './fixtures';
import { createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('a campaign is built through every builder step, and a live one warns before breaking', async ({ page }) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  await page.goto('/app/campaigns');
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('Spring referrals');
  await page.getByLabel('Link name').fill('no spaces please');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page.locator('#slug-error')).toContainText('letters, digits and dashes');
  const slug = uniqueSlug('spring');
  await page.getByLabel('Link name').fill(slug);
  await page.getByRole('button', { name: 'Create campaign' }).click();

  // 1. Setup, checked field by field.
  await expect(page.getByRole('heading', { name: 'Setup' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Most friends one person may refer').fill('100001');
  await page.getByRole('button', { name: 'Save setup' }).click();
  await expect(page.locator('#referral_cap-error')).toContainText('whole number from 1 to 100000');
  await page.getByLabel('Most friends one person may refer').fill('5');
  await page.getByLabel('Share text').fill('Get 20% off your first month');
  await page.getByRole('button', { name: 'Save setup' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();

  // 2. Forms: add a choice, see each problem as it is typed, save.
  await page.getByRole('link', { name: '2. Forms' }).click();
  const referrer = page.locator('fieldset[data-form="referrer"]');
  await referrer.getByLabel('Add a field').selectOption('select');
  await referrer.getByRole('button', { name: 'Add field' }).click();
  const row = referrer.locator('tr.field-row').nth(3);
  await expect(row.locator('.field-error')).toContainText('List at least one option');
  await expect(page.getByRole('button', { name: 'Save forms' })).toBeDisabled();
  await row.getByLabel('Label').fill('');
  await expect(row.locator('.field-error').first()).toHaveText('Give this field a label.');
  await row.getByLabel('Label').fill('Plan');
  await row.getByLabel('Options, separated by commas').fill('basic,pro');
  await row.getByLabel('Required').check();
  await expect(row.locator('.field-error')).toHaveCount(0);
  await page.getByRole('button', { name: 'Save forms' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(referrer.locator('tr.field-row').nth(3).getByLabel('Label')).toHaveValue('Plan');

  // 3–6. Rewards, Qualification, Emails, Promote.
  await page.getByRole('link', { name: '3. Rewards' }).click();
  await expect(page.getByRole('heading', { name: 'Rewards' })).toBeVisible();
  await expect(page.locator('.empty-rules')).toHaveText('This campaign has no reward rules yet.');
  // A reward that steps up: 10.00 up to the 4th qualified referral, 20.00 from the 5th.
  await hydrated(page);
  for (const [amount, from, upTo] of [['10.00', '', '4'], ['20.00', '5', '3']]) {
    await page.getByRole('button', { name: 'Add a reward rule' }).click();
    const rule = page.locator('.reward-rule').last();
    await rule.locator('input[name="amount"]').fill(amount);
    await rule.getByLabel('Tier: from the').fill(from);
    await rule.getByLabel('up to the').fill(upTo);
  }
  const stepUp = page.locator('.reward-rule').nth(1);
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(stepUp.locator('.field-error')).toHaveText('Rule 2: its tier ends at the 3rd referral, before it starts at the 5th.');
  await stepUp.getByLabel('up to the').fill('');
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(page.locator('.rewards').getByText('Saved.')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.locator('.reward-rule').nth(0).getByLabel('up to the')).toHaveValue('4');
  await expect(stepUp.getByLabel('Tier: from the')).toHaveValue('5');
  await expect(stepUp.getByLabel('up to the')).toHaveValue('');
  // A commission: a percentage of each payment for 12 months, checked as typed.
  await page.getByRole('button', { name: 'Add a reward rule' }).click();
  const commission = page.locator('.reward-rule').last();
  await commission.getByLabel('How much').selectOption('percent');
  await expect(commission.locator('input[name="amount"]')).toHaveCount(0);
  await commission.locator('input[name="percent"]').fill('120');
  await commission.locator('input[name="months"]').fill('12');
  await commission.locator('input[name="hold_days"]').fill('14');
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(commission.locator('.field-error')).toHaveText('Rule 3: enter the commission as a percentage of each payment, more than 0 and at most 100, such as 20 or 12.5.');
  await commission.locator('input[name="percent"]').fill('20');
  await page.getByRole('button', { name: 'Save rewards' }).click();
  await expect(page.locator('.rewards').getByText('Saved.')).toBeVisible();
  await expect(commission.locator('.field-error')).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(commission.getByLabel('How much')).toHaveValue('percent');
  await expect(commission.locator('input[name="percent"]')).toHaveValue('20');
  await expect(commission.locator('input[name="months"]')).toHaveValue('12');
  await expect(commission.locator('input[name="hold_days"]')).toHaveValue('14');
  await page.getByRole('link', { name: '4. Qualification' }).click();
  await expect(page.getByRole('heading', { name: 'Qualification' })).toBeVisible();
  // Emails: a placeholder is checked as it is typed; what is saved survives a reload.
  await page.getByRole('link', { name: '5. Emails' }).click();
  await expect(page.getByRole('heading', { name: 'Emails' })).toBeVisible();
  await hydrated(page);
  const welcome = page.locator('fieldset[data-kind="welcome"]');
  await welcome.getByLabel('Subject').fill('Hi {{firstname}}');
  await expect(welcome.locator('.field-error')).toContainText('{{firstname}} is not a placeholder');
  await welcome.getByLabel('Subject').fill('Welcome to {{campaign}}, {{first_name}}');
  await expect(welcome.locator('.field-error')).toHaveCount(0);
  await welcome.getByLabel('Send it').check();
  await page.getByRole('button', { name: 'Save emails' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(welcome.getByLabel('Send it')).toBeChecked();
  await expect(welcome.getByLabel('Subject')).toHaveValue('Welcome to {{campaign}}, {{first_name}}');
  // Preview: nobody has joined yet, so the values are examples; the HTML part in a sandboxed frame.
  const welcomeCard = page.locator('.email-card', { has: welcome });
  await welcomeCard.getByRole('button', { name: 'Preview' }).click();
  const preview = welcomeCard.locator('.email-preview');
  await expect(preview).toContainText('Nobody has joined yet, so the values are examples.');
  await expect(preview.locator('.email-subject')).toHaveText('Welcome to Spring referrals, Ann');
  // (Read from the frame's document as given: the frame runs no script, Playwright's included.)
  await expect(preview.locator('iframe[sandbox=""]')).toHaveAttribute('srcdoc', /<a href="[^"]*\/r\/EXAMPLE"/);
  await page.getByRole('link', { name: '6. Promote' }).click();
  await expect(page.getByLabel('Join link (people referring)')).toHaveValue(new RegExp(`/j/${slug}$`));
  await expect(page.getByLabel('Share text (edit it in Setup)')).toHaveValue('Get 20% off your first month {link}');

  // Launch, then try to remove a field people have answered: the builder says what breaks.
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(page.locator('h1 .badge')).toHaveText('Live');
  await page.getByRole('link', { name: '2. Forms' }).click();
  await hydrated(page);
  await referrer.locator('tr.field-row').nth(3).getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator('.live-warning')).toContainText('Removing “Plan” hides what participants already entered in it.');
  await page.getByRole('button', { name: 'Save anyway' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await expect(referrer.locator('tr.field-row')).toHaveCount(3);
});

test('Promote toggles explain what blocks them, save at once, survive a reload and roll back on refusal', async ({
  page,
}) => {
  await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
  await createLiveCampaign(page, 'Toggles', uniqueSlug('toggles'));
  const builder = page.url().replace(/\?.*$/, '');
  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  const referrers = page.locator('li[data-toggle="send_referrers"]');
  await expect(referrers.getByRole('switch')).toBeDisabled();
  await expect(referrers.locator('.blocker')).toContainText('Stripe is not connected to this account yet.');
  await referrers.getByRole('link', { name: 'Connect Stripe' }).click();
  await expect(page).toHaveURL(/\/app\/integrations$/);
  await hydrated(page);
  await page.getByRole('button', { name: 'Connect Stripe' }).click();
  await expect(page.locator('.status-ok')).toContainText('Built-in Stripe sandbox');

  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  for (const key of ['send_referrers', 'send_friends']) {
    const item = page.locator(`li[data-toggle="${key}"]`);
    await expect(item.getByRole('switch')).toBeEnabled();
    // Flipped at once (optimistically), saved in the background.
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_promote_toggle') && r.ok());
    if (key === 'send_referrers') {
      // A switch works from the keyboard, as a checkbox does.
      await item.getByRole('switch').focus();
      await page.keyboard.press('Space');
    } else {
      await item.getByRole('switch').check();
    }
    await expect(item.locator('.switch-state')).toHaveText('On');
    await saved;
    // The state is a badge of its own, beside the label, not glued to its last word.
    const label = (await item.locator('label').boundingBox())!;
    const badge = (await item.locator('.switch-state').boundingBox())!;
    expect(badge.x).toBeGreaterThanOrEqual(label.x + label.width + 4);
  }
  // The ongoing sync needs its settings first: the blocker leads to the sync wizard.
  const ongoing = page.locator('li[data-toggle="ongoing_sync"]');
  await expect(ongoing.getByRole('switch')).toBeDisabled();
  await ongoing.getByRole('link', { name: 'Set up the sync' }).click();
  await expect(page.getByRole('heading', { name: 'Sync Stripe customers' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('radio', { name: /Ongoing/ }).check();
  await page.getByRole('button', { name: 'Save and switch ongoing sync on' }).click();
  await expect(page.getByText('Ongoing sync is on')).toBeVisible();
  await page.goto(`${builder}?step=promote`);
  await hydrated(page);
  await expect(ongoing.locator('.switch-state')).toHaveText('On');
  await page.reload();
  await hydrated(page);
  for (const key of ['send_referrers', 'send_friends', 'ongoing_sync']) {
    await expect(page.locator(`li[data-toggle="${key}"]`).getByRole('switch')).toBeChecked();
  }

  // Switched off, then Stripe is disconnected behind the page's back: switching on again is
  // refused by the server, and the switch flips back with the reason.
  const sync = page.locator('li[data-toggle="ongoing_sync"]');
  await sync.getByRole('switch').uncheck();
  await expect(sync.locator('.switch-state')).toHaveText('Off');
  const disconnected = await page.request.post('/api/disconnect_stripe', { form: {} });
  expect(disconnected.ok()).toBeTruthy();
  // (A click, not check(): the switch flips back before Playwright could see it on.)
  await sync.getByRole('switch').click();
  await expect(sync.getByRole('alert')).toContainText('Stripe is not connected');
  await expect(sync.getByRole('switch')).not.toBeChecked();
  await expect(sync.locator('.switch-state')).toHaveText('Off');
  await page.reload();
  await hydrated(page);
  await expect(sync.getByRole('switch')).not.toBeChecked();
});

test('people join as referrers and friends, refusals are explained, and the team finds them', async ({
  page,
  browser,
}) => {
  const owner = uniqueEmail('owner');
  await signUp(page, 'Acme', 'Alice Example', owner);
  const slug = uniqueSlug('friends');
  await createLiveCampaign(page, 'Friends', slug);
  const campaignUrl = page.url().replace(/\/edit.*$/, '');

  const visitor = await browser.newContext();
  const ann = await visitor.newPage();
  const problems = watchForProblems(ann);
  const annEmail = uniqueEmail('ann');
  await join(ann, `/j/${slug}`, 'Ann', annEmail);
  await expect(ann.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const annPage = ann.url();
  const code = (await ann.locator('.referral-code').textContent())!.trim();
  await expect(ann.getByLabel('Your referral link')).toHaveValue(new RegExp(`/r/${code}$`));
  await expect(ann.getByRole('link', { name: 'WhatsApp' })).toHaveAttribute('href', /wa\.me/);

  // Ann cannot use her own link.
  await join(ann, `/r/${code}`, 'Ann', annEmail);
  await expect(ann.getByRole('alert')).toContainText('You cannot use your own referral link');

  // Bob comes through Ann's link in a browser of his own.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  const bobProblems = watchForProblems(bob);
  const bobEmail = uniqueEmail('bob');
  await bob.goto(`/r/${code}`);
  await expect(bob.getByText('Ann invited you to join Friends.')).toBeVisible();
  await join(bob, `/r/${code}`, 'Bob', bobEmail);
  await expect(bob.getByText('You were invited by Ann.')).toBeVisible();
  await join(bob, `/j/${slug}`, 'Bob', bobEmail);
  await expect(bob.getByRole('alert')).toContainText('You have already joined with this email');

  await ann.goto(annPage);
  await expect(ann.locator('[data-stat="joined"]')).toHaveText('1');

  // The team finds Bob by searching, and sees where he came from.
  await page.goto(`${campaignUrl}/users`);
  await hydrated(page);
  await page.getByLabel('Search').fill(bobEmail.slice(0, 12));
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('table.participants tbody tr')).toHaveCount(1);
  await expect(page.locator('table.participants')).toContainText('Invited');
  await page.getByRole('link', { name: 'Bob' }).click();
  await expect(page.getByRole('heading', { name: 'Bob', level: 2 })).toBeVisible();
  await expect(page.locator('.participant-facts')).toContainText('Referred by');
  await expect(page.locator('.timeline li[data-kind="joined"]')).toContainText(`referral link of ${annEmail}`);

  // The dashboard counts the clicks on Ann's link (once per visitor a day: Ann's own, and Bob's
  // two visits as one), the joins and the friend.
  await page.goto(campaignUrl);
  await expect(page.locator('[data-stat="joins"]')).toHaveText('2');
  await expect(page.locator('[data-stat="invited"]')).toHaveText('1');
  await expect(page.locator('[data-stat="clicks"]')).toHaveText('2');
  await expect(page.locator('.chart polyline')).toHaveCount(5);

  // The Owner caps the account at its current size: the next person is turned away politely,
  // and the team sees the banner.
  await page.goto('/app/team');
  await hydrated(page);
  await page.getByLabel('Limit', { exact: true }).fill('2');
  await page.getByRole('button', { name: 'Save limit' }).click();
  await expect(page.getByText('2 of 2 participants across all campaigns.')).toBeVisible();
  const cid = await visitor.newPage();
  await join(cid, `/j/${slug}`, 'Cid', uniqueEmail('cid'));
  await expect(cid.getByRole('alert')).toContainText('This referral program is full right now');
  await page.goto(campaignUrl);
  await expect(page.locator('.limit-banner')).toContainText('reached its limit of 2 participants');
  await expect(page.locator('.limit-banner')).toBeVisible();

  expect(problems).toEqual([]);
  expect(bobProblems).toEqual([]);
  await visitor.close();
  await bobContext.close();
});
