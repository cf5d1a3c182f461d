import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface A11yViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core's WCAG 2.1 A and AA rules on what a page shows now. The app's pages run no script
 * (and the browser tests drive them with JavaScript off), so the page's HTML is loaded again, as it is,
 * at the same address in a scripted tab of the same browser, with the app's own stylesheet, and axe
 * runs there. Works for pages a POST rendered too (a confirmation page), which cannot be fetched again.
 */
export async function axeViolations(browser: Browser, page: Page): Promise<A11yViolation[]> {
  const html = await page.content();
  const url = page.url();
  const viewport = page.viewportSize() ?? { width: 1366, height: 768 };
  const context = await browser.newContext({ viewport, javaScriptEnabled: true, bypassCSP: true });
  try {
    const probe = await context.newPage();
    await probe.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    // Only the stylesheet and images of the page itself: the probe never submits or follows anything.
    await probe.goto(url, { waitUntil: 'load' });
    await probe.evaluate(axeSource);
    const result = (await probe.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })`)) as {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
    };
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  } finally {
    await context.close();
  }
}

/** Fails with every violation named, where it is and why. */
export async function assertAccessible(browser: Browser, page: Page, label: string): Promise<void> {
  const violations = await axeViolations(browser, page);
  if (violations.length) throw new Error(`${label}: WCAG 2.1 AA violations (axe-core):\n${violations.map((v) => `- ${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(', ')}`).join('\n')}`);
}
