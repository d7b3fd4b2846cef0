import { test, expect } from './fixtures';
import { createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';

test('people join as referrers and as invited friends without JavaScript', async ({ page, browser }) => {
  await signUp(page, 'Acme', 'Olive Owner', uniqueEmail('olive'));
  const slug = uniqueSlug('plain');
  await createLiveCampaign(page, 'Plain HTML', slug);

  const visitor = await browser.newContext({ javaScriptEnabled: false });
  const ann = await visitor.newPage();
  const annEmail = uniqueEmail('ann');
  await join(ann, `/j/${slug}`, 'Ann', annEmail);
  await expect(ann.getByRole('heading', { level: 1 })).toHaveText("You're in, Ann!");
  const code = (await ann.locator('.referral-code').textContent())!.trim();

  // A friend follows the link; bad input comes back with its message next to the field.
  const friends = await browser.newContext({ javaScriptEnabled: false });
  const bob = await friends.newPage();
  await bob.goto(`/r/${code}`);
  await expect(bob.getByText('Ann invited you to join Plain HTML.')).toBeVisible();
  await bob.getByLabel('First name').fill('Bob');
  // The browser accepts bob@localhost; Refloop wants a domain with a dot.
  await bob.getByLabel('Email').fill('bob@localhost');
  await bob.getByRole('button', { name: 'Join' }).click();
  await expect(bob.locator('#email-error')).toContainText('is not an email address');
  const bobEmail = uniqueEmail('bob');
  await join(bob, `/r/${code}`, 'Bob', bobEmail);
  await expect(bob.getByText('You were invited by Ann.')).toBeVisible();

  // Joining twice is refused with a message on the page.
  await join(bob, `/j/${slug}`, 'Bob', bobEmail);
  await expect(bob.getByRole('alert')).toContainText('You have already joined with this email');

  // Someone who lost their page asks for it again: the same answer whoever asks.
  for (const address of [bobEmail, uniqueEmail('nobody')]) {
    await bob.goto(`/j/${slug}`);
    await bob.getByText('Already joined? Email me my link').click();
    await bob.getByLabel('The address you joined with').fill(address);
    await bob.getByRole('button', { name: 'Email me my link' }).click();
    await expect(bob).toHaveURL(new RegExp(`/j/${slug}\\?link=sent$`));
    await expect(bob.getByRole('status').filter({ hasText: 'on its way' })).toHaveText(
      'If that address is in this campaign, its link is on its way: check your inbox.',
    );
  }

  await ann.reload();
  await expect(ann.locator('[data-stat="joined"]')).toHaveText('1');
  await visitor.close();
  await friends.close();
});
