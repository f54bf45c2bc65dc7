import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

/** Debian's chromium (installed by .ci/run); flags keep it from calling home. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Monaco renders spaces as no-break spaces and wraps long lines. */
const textOf = async (locator: Locator) => (await locator.innerText()).replace(/\s+/g, ' ');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * GraphiQL in a real browser with every non-loopback request refused, as on a machine without
 * internet: the page must come up from the app alone, open on our example and run it.
 */
describe('GraphiQL offline, in headless Chromium', () => {
  let app: TestApp;
  let server: Server;
  let baseUrl: string;
  let context: BrowserContext;
  const profile = mkdtempSync(join(tmpdir(), 'workshops-chromium-'));
  const titles: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    for (const title of ['Offline GraphQL basics', 'Offline TypeScript clinic']) {
      await createWorkshop(app, { titleEn: title });
      titles.push(title);
    }
    server = createServer(app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // A fresh profile: nothing stored from an earlier visit (GraphiQL keeps tabs in localStorage).
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('renders from the app alone, opens on our example, and Run shows the workshops', async () => {
    const refused: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.has(url.hostname)) {
        refused.push(url.href);
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${baseUrl}/graphql`);
    await expect(page.title()).resolves.toBe('Workshops API');
    const editor = page.locator('.graphiql-query-editor');
    await editor.waitFor({ timeout: 30_000 });
    await expect.poll(() => textOf(editor), { timeout: 20_000 }).toContain('query UpcomingWorkshops {');

    await page.locator('.graphiql-execute-button').click();
    const results = page.locator('.graphiql-response');
    await expect.poll(() => textOf(results), { timeout: 20_000 }).toContain('"totalCount"');
    const text = await textOf(results);
    for (const title of titles) expect(text).toContain(title);
    expect(text).not.toContain('"errors"');
    if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT });

    expect(refused).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
