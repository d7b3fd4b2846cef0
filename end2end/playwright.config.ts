import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The suite starts its own Refloop: the one-file build (dist/refloop), on a free port, with a fresh SQLite
// database (and secret key) in a temporary folder and the front end carried inside it; and
// a second one whose emails go to maildev (a real SMTP server with a REST API), for the
// journeys that read their email (`mailed.spec.ts`). Values are kept in the environment so that
// Playwright's worker processes, which load this file again, agree.
const env = process.env;
const freePort = () =>
  execFileSync(process.execPath, [
    '-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})",
  ])
    .toString()
    .trim();
env.REFLOOP_E2E_PORT ??= freePort();
env.REFLOOP_E2E_MAILED_PORT ??= freePort();
env.REFLOOP_E2E_SMTP_PORT ??= freePort();
env.REFLOOP_E2E_MAILDEV_PORT ??= freePort();
env.REFLOOP_E2E_HTTPS_PORT ??= freePort();
env.REFLOOP_E2E_UPSTREAM_PORT ??= freePort();
env.REFLOOP_E2E_DATA ??= mkdtempSync(join(tmpdir(), 'refloop-e2e-'));
env.REFLOOP_E2E_MAILED_DATA ??= mkdtempSync(join(tmpdir(), 'refloop-e2e-mailed-'));

const baseURL = `http://127.0.0.1:${env.REFLOOP_E2E_PORT}`;
const maildevURL = `http://127.0.0.1:${env.REFLOOP_E2E_MAILDEV_PORT}`;

/** A Refloop release binary on `port`, with its own SQLite database in `data`. */
function refloop(port: string, data: string, extra: Record<string, string> = {}) {
  return {
    command: env.REFLOOP_BIN ?? resolve(__dirname, '..', 'dist', 'refloop'),
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${data}/refloop.db`,
      REFLOOP_SECRET_KEY_FILE: `${data}/secret.key`,
      // Every test joins and signs up from 127.0.0.1: lift the per-address limits, and let every
      // test create its own account (the sign-up policy and limits are tested in Rust).
      REFLOOP_JOIN_LIMIT: '100000',
      REFLOOP_SIGNUP: 'open',
      REFLOOP_SIGNUP_LIMIT: '100000',
      RUST_LOG: 'warn',
      ...extra,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  // A whole journey (sign up, build, join, pay, refund) under two parallel workers on two cores
  // can pass 30 s; what must be fast is asserted inside the tests (e.g. qualified within 10 s).
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: env.REFLOOP_BENCH
    ? // `make bench-mobile`: the benchmarks in bench/, which print figures instead of asserting them.
      [{ name: 'bench', testDir: './bench', testMatch: /\.bench\.ts$/, timeout: 300_000 }]
    : [
        { name: 'chromium', testIgnore: /\.nojs\.spec\.ts$/ },
        // Pages that must work without scripts: forms post to the server and pages reload.
        { name: 'no-javascript', testMatch: /\.nojs\.spec\.ts$/, use: { javaScriptEnabled: false } },
      ],
  webServer: [
    // No mail server: links to copy instead of emails, and "not sent" on the timelines. Webhook
    // endpoints on loopback allowed: the merchant app's stub (merchant-app.spec.ts) listens there.
    refloop(env.REFLOOP_E2E_PORT, env.REFLOOP_E2E_DATA, { REFLOOP_WEBHOOKS_ALLOW_PRIVATE: 'true' }),
    {
      command: `node_modules/.bin/maildev --smtp ${env.REFLOOP_E2E_SMTP_PORT} --web ${env.REFLOOP_E2E_MAILDEV_PORT} --ip 127.0.0.1 --silent`,
      url: `${maildevURL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    refloop(env.REFLOOP_E2E_MAILED_PORT, env.REFLOOP_E2E_MAILED_DATA, {
      REFLOOP_SMTP_URL: `smtp://127.0.0.1:${env.REFLOOP_E2E_SMTP_PORT}`,
      REFLOOP_SMTP_FROM: 'Refloop <hello@refloop.test>',
    }),
    // As deployed: dist/refloop alone in an empty folder with deploy/refloop.service's
    // settings, behind caddy with deploy/Caddyfile over HTTPS (deploy.spec.ts).
    {
      command: `node deployed.mjs ${env.REFLOOP_E2E_HTTPS_PORT} ${env.REFLOOP_E2E_UPSTREAM_PORT}`,
      url: `https://localhost:${env.REFLOOP_E2E_HTTPS_PORT}/healthz`,
      ignoreHTTPSErrors: true,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe' as const,
      stderr: 'pipe' as const,
    },
  ],
});
