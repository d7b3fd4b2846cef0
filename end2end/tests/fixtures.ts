import { test as base, expect, type Page } from '@playwright/test';

// Every test fails if the page logs an error, throws, or warns about hydration: a page that
// renders on the server but breaks in the browser must not pass.
export const test = base.extend<{ consoleProblems: string[] }>({
  consoleProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('console', (msg) => {
        const text = msg.text();
        if (msg.type() === 'error' || (msg.type() === 'warning' && /hydrat/i.test(text))) {
          problems.push(`console.${msg.type()}: ${text}`);
        }
      });
      page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
      await use(problems);
      expect(problems, 'the browser reported problems').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the WASM bundle has hydrated the page (the shell marks <body> when it has). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}
