import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'ui');

/**
 * Whether Debian's chromium is installed. Missing with TOLLGATE_REQUIRE_CHROMIUM=1 (CI) throws, so the
 * browser tests fail instead of silently skipping; otherwise it says so once and returns false.
 */
export function chromiumAvailable(): boolean {
  const available = existsSync(CHROMIUM);
  if (!available && process.env.TOLLGATE_REQUIRE_CHROMIUM === '1') {
    throw new Error(`TOLLGATE_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing: install it (apt-get install chromium)`);
  }
  if (!available) console.warn(`${CHROMIUM} not found: browser tests skipped (apt-get install chromium, or set TOLLGATE_REQUIRE_CHROMIUM=1 to make this an error)`);
  return available;
}

export function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
}

/** Fails the test on any uncaught page error or console error, and on any request that leaves loopback. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[19]/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.protocol !== 'data:' && url.hostname !== '127.0.0.1') problems.push(`request off loopback: ${req.url()}`);
  });
  return problems;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
