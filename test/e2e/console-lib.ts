// Drives Debian's Chromium with playwright-core for the console tests: a
// fresh profile, no network beyond loopback, every console error collected,
// screenshots kept under test-artifacts/console/ (or $SKYWAY_ARTIFACTS).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const chromiumPath = process.env.SKYWAY_CHROMIUM ?? '/usr/bin/chromium';
export const artifacts = join(
  process.env.SKYWAY_ARTIFACTS ?? join(import.meta.dirname, '../../test-artifacts'),
  'console',
);

/** Why the browser tests cannot run here (scripts/install-deps.sh installs chromium; npm run build the console). */
export function browserSkip(): string | undefined {
  if (!existsSync(chromiumPath)) return `needs ${chromiumPath} (apt-get install chromium)`;
  if (!existsSync(join(import.meta.dirname, '../../packages/console/dist/index.html')))
    return 'needs the built console (npm run build)';
  return undefined;
}

export interface Session {
  browser: Browser;
  /** Messages the pages logged as errors, and uncaught exceptions. */
  errors: string[];
  newPage(): Promise<Page>;
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Session> {
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'skyway-chromium-'));
  // launchPersistentContext is how a user-data-dir is given; one context per test session.
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const errors: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`${p.url()}: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    browser: context.browser()!,
    errors,
    newPage: () => context.newPage(),
    shot: async (page, name) => {
      await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
