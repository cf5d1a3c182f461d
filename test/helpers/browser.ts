import { chromium, type Browser } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';

/** Debian's Chromium, headless, with the flags that keep it off the network. Never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Where a browser test puts its screenshots. */
export function screenshotDir(name: string): string {
  const dir = path.join(PROJECT_ROOT, 'test-output', 'screenshots', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
