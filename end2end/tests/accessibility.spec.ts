import AxeBuilder from '@axe-core/playwright';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, join, signUp, uniqueEmail, uniqueSlug } from './helpers';
import type { Page } from '@playwright/test';

/** Serious and critical accessibility problems axe-core finds on the page, in words. */
async function axeProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

/** How far the page is wider than the window (0 when nothing scrolls sideways). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Every page passes axe-core (no serious or critical violation) at `width` px wide, and
 * nothing on it scrolls sideways at 360 px. */
async function checkPages(page: Page, width: number, paths: string[], { scripts }: { scripts: boolean }) {
  const problems: string[] = [];
  await page.setViewportSize({ width, height: 800 });
  for (const path of paths) {
    await page.goto(path);
    if (scripts) await hydrated(page);
    for (const p of await axeProblems(page)) problems.push(`${path} at ${width} px: ${p}`);
    if (width === 360) {
      const extra = await overflow(page);
      if (extra > 0) problems.push(`${path} at 360 px scrolls sideways by ${extra} px`);
    }
  }
  expect(problems).toEqual([]);
}

// One test per width, so that the two run side by side (at 360 px, nothing may scroll sideways).
for (const width of [1280, 360]) {
  test(`every page of the app and the public pages passes axe at ${width} px`, async ({ page, browser }) => {
    test.setTimeout(180_000);
    await signUp(page, 'Acme', 'Alice Example', uniqueEmail('alice'));
    const slug = uniqueSlug('a11y');
    await createLiveCampaign(page, 'Accessible', slug);
    const builder = page.url().replace(/\?.*$/, '');
    const campaign = builder.replace(/\/edit$/, '');
    await connectSandbox(page);

    // Someone joins, and a friend through their link: the Users tab and the pages have people.
    const visitor = await browser.newPage();
    await join(visitor, `/j/${slug}`, 'Ann', uniqueEmail('ann'));
    const referral = new URL(await visitor.locator('#referral-link').inputValue()).pathname;
    const personal = new URL(visitor.url()).pathname;
    const friend = await browser.newPage();
    await join(friend, referral, 'Bob', uniqueEmail('bob'));
    await expect(friend.getByRole('heading', { level: 1 })).toHaveText("You're in, Bob!");
    await page.goto(`${campaign}/users`);
    await hydrated(page);
    await page.getByRole('link', { name: 'Ann' }).click();
    await expect(page).toHaveURL(/\/users\/par_\w+$/);
    const participant = new URL(page.url()).pathname;

    const steps = ['setup', 'forms', 'rewards', 'qualification', 'emails', 'promote'].map((s) => `${builder}?step=${s}`);
    await checkPages(
      page,
      width,
      [
        '/app',
        '/app?period=all',
        '/app/campaigns',
        campaign,
        `${campaign}/users`,
        participant,
        `${campaign}/stripe`,
        `${campaign}/sync`,
        ...steps,
        '/app/integrations',
        '/app/integrations/api',
        '/app/team',
        '/app/activity',
        '/app/operations',
        '/app/health',
        '/app/account',
        '/',
      ],
      { scripts: true },
    );

    // The public pages, for someone not signed in: the referral pages load no script at all.
    const stranger = await (await browser.newContext()).newPage();
    await checkPages(stranger, width, ['/signin', '/signup', '/forgot-password', '/no-such-page'], { scripts: true });
    await checkPages(stranger, width, [`/j/${slug}`, referral, personal], { scripts: false });
  });
}
