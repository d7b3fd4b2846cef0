import { test as base, expect, type Page } from '@playwright/test';

// Every test fails if the page logs an error, throws, or warns about hydration: a page that
// renders on the server but breaks in the browser must not pass. Two kinds of failed load are
// answers the app expects and shows itself: a page answered with an error status (the not-found
// page is a 404), and a server function refusing bad input or a missing permission (4xx).
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  const expected = new Set<string>();
  page.on('response', (res) => {
    const path = new URL(res.url()).pathname;
    const handledApiError = path.startsWith('/api/') && res.status() >= 400 && res.status() < 500;
    if (res.request().isNavigationRequest() || handledApiError) expected.add(res.url());
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (text.startsWith('Failed to load resource') && expected.has(msg.location().url)) return;
    // An email preview is a frame that may run no script: when Playwright's tracing tries to
    // snapshot it, Chromium says it refused. That refusal is the frame doing its job.
    if (text.startsWith("Blocked script execution in 'about:srcdoc'")) return;
    if (msg.type() === 'error' || (msg.type() === 'warning' && /hydrat/i.test(text))) {
      problems.push(`console.${msg.type()} on ${page.url()}: ${text}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`uncaught on ${page.url()}: ${err.message}`));
  return problems;
}

export const test = base.extend<{ consoleProblems: string[] }>({
  consoleProblems: [
    async ({ page }, use) => {
      const problems = watchForProblems(page);
      await use(problems);
      expect(problems, 'the browser reported problems').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the page's WASM has hydrated it (each lazily loaded page marks <body> once it has). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}
