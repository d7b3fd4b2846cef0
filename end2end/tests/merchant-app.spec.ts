import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect, hydrated, test } from './fixtures';
import { connectSandbox, createLiveCampaign, rewardSpend, signUp, uniqueEmail, uniqueSlug } from './helpers';

/** What the merchant's backend stub has received on its webhook endpoint. */
type Received = { verified: { type: string; data: any }[]; rejected: string[] };

const body = (req: IncomingMessage) =>
  new Promise<string>((done) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => done(text));
  });

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * "Shoply", the merchant's own app on another loopback port: a sign-up page whose backend enrols
 * the user through Refloop's API, an account page showing the referral widget with a token its
 * backend asks for, and a webhook endpoint verifying Standard Webhooks signatures with the
 * reference implementation from npm. Its CSS deliberately styles buttons and headings, which
 * must not reach into the widget.
 */
function merchantApp(refloop: string, apiKey: string, campaign: string) {
  const received: Received = { verified: [], rejected: [] };
  let secret = '';
  const api = async (method: string, path: string, payload?: object, idempotency?: string) => {
    const res = await fetch(`${refloop}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(idempotency ? { 'idempotency-key': idempotency } : {}),
      },
      body: payload ? JSON.stringify(payload) : undefined,
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const page = (title: string, content: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>
  body { font-family: Georgia, serif; }
  button { background: rgb(255, 0, 0); color: rgb(255, 255, 0); }
  h2 { color: rgb(255, 0, 0); text-transform: uppercase; }
  refloop-referral { --refloop-accent: rgb(0, 128, 0); }
</style></head><body><h1>${title}</h1>${content}</body></html>`;
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://shoply');
    const user = /(?:^|; )user=(par_\w+)/.exec(req.headers.cookie ?? '')?.[1];
    const html = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(text);
    };
    if (req.method === 'GET' && url.pathname === '/') {
      const ref = escape(url.searchParams.get('ref') ?? '');
      return html(
        200,
        page(
          'Shoply',
          `<form method="post" action="/signup">
            <input type="hidden" name="ref" value="${ref}">
            <label>First name <input name="first_name"></label>
            <label>Email <input name="email" type="email"></label>
            <button>Sign up to Shoply</button>
          </form>`,
        ),
      );
    }
    if (req.method === 'POST' && url.pathname === '/signup') {
      const form = new URLSearchParams(await body(req));
      const ref = form.get('ref');
      const enrolled = await api(
        'POST',
        '/participants',
        {
          campaign,
          email: form.get('email'),
          first_name: form.get('first_name'),
          ...(ref ? { referral_code: ref } : {}),
        },
        `signup-${form.get('email')}`,
      );
      if (enrolled.status !== 201) return html(400, page('Shoply', `<p role="alert">${escape(enrolled.json.error.message)}</p>`));
      res.writeHead(303, { location: '/account', 'set-cookie': `user=${enrolled.json.id}; Path=/; HttpOnly` });
      return res.end();
    }
    if (req.method === 'GET' && url.pathname === '/account' && user) {
      const minted = await api('POST', `/participants/${user}/widget_tokens`);
      return html(
        200,
        page(
          'Your Shoply account',
          `<h2>Refer a friend</h2>
           <script src="${refloop}/widget.js" defer></script>
           <refloop-referral token="${escape(minted.json.token)}"></refloop-referral>`,
        ),
      );
    }
    if (req.method === 'POST' && url.pathname === '/webhooks') {
      const text = await body(req);
      try {
        const event = new Webhook(secret).verify(text, req.headers as Record<string, string>) as any;
        received.verified.push(event);
        res.writeHead(204).end();
      } catch (e) {
        received.rejected.push(String(e));
        res.writeHead(400).end('bad signature');
      }
      return;
    }
    res.writeHead(404).end('not found');
  });
  return {
    received,
    useSecret: (s: string) => (secret = s),
    listen: () => new Promise<string>((done) => server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

test("a merchant's app enrols users through the API, shows them the widget, and follows the referral to a reward by signed webhooks", async ({
  page,
  browser,
}) => {
  // A whole referral journey through two apps, with webhooks delivered by the job queue.
  test.setTimeout(120_000);
  const refloop = test.info().project.use.baseURL!;
  await signUp(page, 'Shoply', 'Alice Example', uniqueEmail('alice'));
  const slug = uniqueSlug('shoply');
  await createLiveCampaign(page, 'Shoply friends', slug);
  const builder = page.url().replace(/\?.*$/, '');
  const dashboard = await connectSandbox(page);
  await rewardSpend(page, builder, '50.00', '10.00');

  // Integrations: a key for the merchant's backend, and its webhook endpoint for every event.
  await page.goto('/app/integrations');
  await hydrated(page);
  const keys = page.locator('section.api-keys');
  await keys.getByLabel('Name').fill('Shoply backend');
  await keys.getByLabel('Access').selectOption('read_write');
  await keys.getByRole('button', { name: 'Create key' }).click();
  const apiKey = await keys.getByLabel('The new API key').inputValue();
  expect(apiKey).toMatch(/^rfk_/);
  const shoply = merchantApp(refloop, apiKey, slug);
  const merchant = await shoply.listen();
  const hooks = page.locator('section.webhooks');
  await hooks.getByLabel('Endpoint address').fill(`${merchant}/webhooks`);
  for (const event of ['participant.joined', 'participant.sent_to_stripe', 'referral.qualified', 'reward.issued']) {
    await hooks.locator(`input[name="events[${event}]"]`).check();
  }
  await hooks.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = await hooks.getByLabel("The endpoint's signing secret").inputValue();
  expect(secret).toMatch(/^whsec_/);
  shoply.useSecret(secret);
  await expect(hooks.locator('.webhook-endpoint')).toContainText(`${merchant}/webhooks`);

  try {
    // Ann signs up to Shoply; its backend enrols her, and her account page shows the widget.
    const ann = await browser.newPage();
    await ann.goto(`${merchant}/`);
    await ann.getByLabel('First name').fill('Ann');
    await ann.getByLabel('Email').fill(uniqueEmail('ann'));
    await ann.getByRole('button', { name: 'Sign up to Shoply' }).click();
    await expect(ann.getByRole('heading', { name: 'Your Shoply account' })).toBeVisible();
    const widget = ann.locator('refloop-referral');
    await expect(widget.getByRole('heading', { name: 'Invite friends to Shoply friends' })).toBeVisible();
    const link = await widget.getByLabel('Your referral link').inputValue();
    expect(link).toMatch(/\/r\/\w+$/);
    await expect(widget.getByRole('link', { name: 'WhatsApp' })).toHaveAttribute('href', /^https:\/\/wa\.me\/\?text=.*%2Fr%2F/);
    await expect(widget.locator('.counts')).toHaveText('0 friends joined, 0 qualified');
    // The widget is in its own shadow root: the page's CSS does not reach it, its variables do.
    const copy = widget.getByRole('button', { name: 'Copy' });
    await expect(copy).toHaveCSS('background-color', 'rgb(0, 128, 0)');
    await expect(widget.getByRole('heading', { level: 2 })).not.toHaveCSS('color', 'rgb(255, 0, 0)');
    await expect(ann.getByRole('heading', { name: 'Refer a friend', exact: true })).toHaveCSS('color', 'rgb(255, 0, 0)');

    // Bob signs up to Shoply with Ann's code; Ann's widget shows him.
    const code = new URL(link).pathname.split('/').pop()!;
    const bob = await browser.newPage();
    const bobEmail = uniqueEmail('bob');
    await bob.goto(`${merchant}/?ref=${code}`);
    await bob.getByLabel('First name').fill('Bob');
    await bob.getByLabel('Email').fill(bobEmail);
    await bob.getByRole('button', { name: 'Sign up to Shoply' }).click();
    await expect(bob.locator('refloop-referral').getByText('No friends yet')).toBeVisible();
    await ann.reload();
    await expect(widget.locator('li[data-status="pending"]')).toHaveText(/Bob\s*Joined/);

    // Bob is sent to Stripe and spends 50.00: the referral qualifies and Ann is credited.
    await expect(async () => {
      await page.goto(dashboard);
      await expect(page.getByLabel(`Amount for ${bobEmail}`)).toBeVisible({ timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await page.getByLabel(`Amount for ${bobEmail}`).fill('50.00');
    await page.getByRole('button', { name: `Pay as ${bobEmail}` }).click();
    await expect(page.getByText(/Payment of .* succeeded/)).toBeVisible();
    await expect(async () => {
      await ann.reload();
      await expect(widget.locator('li[data-status="qualified"]')).toHaveText(/Bob\s*Qualified/, { timeout: 500 });
      await expect(widget.locator('ul.rewards')).toContainText('10.00 USD', { timeout: 500 });
    }).toPass({ timeout: 15_000 });

    // Shoply's backend received each step, signed.
    const types = () => shoply.received.verified.map((e) => e.type);
    await expect
      .poll(types, { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['participant.joined', 'participant.sent_to_stripe', 'referral.qualified', 'reward.issued']));
    expect(types().filter((t) => t === 'participant.joined')).toHaveLength(2);
    expect(shoply.received.rejected).toEqual([]);
    const qualified = shoply.received.verified.find((e) => e.type === 'referral.qualified')!;
    expect(qualified.data.friend.email).toBe(bobEmail);

    // The delivery log on Integrations shows them delivered.
    await page.goto('/app/integrations');
    await hydrated(page);
    await expect(hooks.locator('tr[data-delivery]', { hasText: 'reward.issued' })).toContainText('HTTP 204');
  } finally {
    await shoply.close();
  }
});
