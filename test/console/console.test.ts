import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEV_PRINCIPAL } from '../../src/config.ts';
import {
  buildEstate,
  restoredContent,
  SOURCE_CONTAINER,
  SUBSCRIPTION,
  TARGET_CONTAINER,
  VAULT,
  RESOURCE_GROUP,
  type Estate,
} from '../../demo/scenario.ts';
import { launchChromium } from '../support/browser.ts';
import { ownDatabase } from '../support/databases.ts';
import { asSdkPolicy, fullPolicy } from '../support/policies.ts';
import { seedProtectedItems } from '../support/seed-items.ts';
import { principalWith, startTestServer, type TestServer } from '../support/server.ts';

/** Screenshots of the main views, for a person to look at (the best are kept in docs/images/). */
const SHOTS = join('.data', 'console-screenshots');
const SALES = 'SQLDataBase;MSSQLSERVER;sales';
/** Fail fast when something the test looks for is not on the page (e.g. the restore button). */
const STEP = { timeout: 15_000 };

/**
 * The Backup center in Debian's Chromium, against a real service on a database of its own: the demo's estate (two VMs,
 * two protected databases, two simulated days of backups), `sales` made unhealthy by two failed log backups, and a
 * second vault filled to the 2000-item limit. The browser does what a person would; the checks compare the page with
 * what the official SDK reads, and the restored database's content with the source's at the chosen second.
 */
describe('the console in Chromium', () => {
  const database = ownDatabase('recovery_vault_console');
  const reader = principalWith('BackupReader', [SUBSCRIPTION]);
  const stateRoot = mkdtempSync(join(tmpdir(), 'rv-console-vms-'));
  let server: TestServer;
  let estate: Estate;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const itemId = () =>
    `${estate.vaultId}/backupFabrics/Azure/protectionContainers/${SOURCE_CONTAINER}/protectedItems/${SALES}`;
  const shot = (name: string, target: Page = page) =>
    target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  const signIn = async (target: Page, clientId: string, clientSecret: string) => {
    await target.goto(`${server.httpUrl}/console`);
    await target.getByLabel('Client id').fill(clientId);
    await target.getByLabel('Client secret').fill(clientSecret);
    // Until the service lists subscriptions (ARM's GET /subscriptions), the console takes them from the sign-in form.
    await target.getByLabel(/Subscription ids/).fill(SUBSCRIPTION);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await target.locator(`li[data-vault="${VAULT}"]`).waitFor(STEP);
  };
  const openVault = async (target: Page, name: string) => {
    await target.getByRole('button', { name: `Open vault ${name}` }).click(STEP);
    await target.locator('[data-testid=vault-name]', { hasText: name }).waitFor(STEP);
  };
  const openTimeline = async (target: Page, name: string) => {
    await target.getByRole('button', { name: `Recovery timeline of ${name}` }).click(STEP);
    await target.locator('[data-testid=timeline]').waitFor(STEP);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer(
      { DATABASE_URL: database.url, RV_MIGRATE_ON_START: 'true', RV_EMULATOR_CONTROLS: 'true' },
      [reader],
    );
    estate = await buildEstate(server, readFileSync(inject('tlsCertFile'), 'utf8'), stateRoot, () => {});
    // sales turns unhealthy: its next two log backups fail (emulator fault injection), played on the clock.
    const fault = await fetch(`${server.httpsUrl}/emulator/v1/faults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${estate.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'BackupFailure',
        protectedItemId: itemId(),
        count: 2,
        code: 'UserErrorOpeningSQLConnection',
        message: 'Cannot connect to the SQL instance.',
      }),
    });
    expect(fault.status).toBe(201);
    const clock = await fetch(`${server.httpsUrl}/emulator/v1/clock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${estate.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ advanceSeconds: 2 * 3600 }),
    });
    expect(clock.status).toBe(200);
    chromium = await launchChromium();
    page = await chromium.context.newPage();
  }, 420_000);

  afterAll(async () => {
    await chromium?.close();
    await Promise.all((estate?.agents ?? []).map((agent) => agent.stop()));
    await server?.stop();
    await database.drop();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  it('signs in, finds the unhealthy database, reads its timeline as ARM has it, restores a chosen second and proves it', async () => {
    await signIn(page, DEV_PRINCIPAL.clientId ?? '', DEV_PRINCIPAL.clientSecret ?? '');
    await page.locator(`li[data-vault="${VAULT}"] [data-testid=usage]`).waitFor(STEP);
    await shot('vaults');
    await openVault(page, VAULT);
    await page.locator('[data-testid=stream]', { hasText: 'live' }).waitFor(STEP);

    // The unhealthy database, found with the health filter.
    await page.locator('tr[data-item]').first().waitFor(STEP);
    await page.getByLabel('Health', { exact: true }).selectOption('unhealthy');
    const unhealthy = page.locator('tr[data-item]');
    await expect.poll(() => unhealthy.count()).toBe(1);
    expect(await unhealthy.getAttribute('data-item')).toBe('sales');
    await expect.poll(() => unhealthy.textContent()).toContain('UserErrorOpeningSQLConnection');
    await page.getByLabel('Health', { exact: true }).selectOption('all');
    await shot('items');
    await page.getByLabel('Health', { exact: true }).selectOption('unhealthy');

    // Its timeline shows exactly the log ranges and points ARM returns: no invented gap, none hidden.
    await openTimeline(page, 'sales');
    const range = await estate.backup.recoveryPoints.get(
      VAULT,
      RESOURCE_GROUP,
      'Azure',
      SOURCE_CONTAINER,
      SALES,
      'DefaultRangeRecoveryPoint',
    );
    const armRanges = (
      (range.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? []
    ).map((r) => [r.startTime.toISOString(), r.endTime.toISOString()]);
    expect(armRanges.length).toBeGreaterThan(0);
    const bars = await page
      .locator('[data-testid=timeline] .bar')
      .evaluateAll((els) => els.map((el) => [el.getAttribute('data-start'), el.getAttribute('data-end')]));
    expect(bars).toEqual(armRanges);
    const armPoints: string[] = [];
    for await (const p of estate.backup.recoveryPoints.list(VAULT, RESOURCE_GROUP, 'Azure', SOURCE_CONTAINER, SALES)) {
      const props = p.properties as { recoveryPointTimeInUTC?: Date };
      if (p.name !== 'DefaultRangeRecoveryPoint') armPoints.push(props.recoveryPointTimeInUTC?.toISOString() ?? '');
    }
    const marks = await page
      .locator('[data-testid=timeline] .mark')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-time')));
    expect(marks.sort()).toEqual(armPoints.sort());

    // A click on the log bar picks a second inside it.
    const [firstStart, firstEnd] = armRanges[0]!.map((t) => Date.parse(t!));
    const bar = await page.locator('[data-testid=timeline] .bar').first().boundingBox();
    await page.mouse.click(bar!.x + bar!.width * 0.3, bar!.y + bar!.height / 2);
    const clicked = Date.parse(await page.getByLabel('Restore to (UTC, to the second)').inputValue());
    expect(clicked).toBeGreaterThanOrEqual(firstStart!);
    expect(clicked).toBeLessThanOrEqual(firstEnd!);
    expect(clicked % 1000).toBe(0);

    // Then the exact second, typed: a random one of day one, as the demo picks it.
    const from = Math.ceil(firstStart! / 1000);
    const to = Math.min(Math.floor(firstEnd! / 1000), Math.floor((estate.start.getTime() + 86_400_000) / 1000));
    const pointInTime = new Date((from + Math.floor(Math.random() * (to - from + 1))) * 1000);
    const chosen = pointInTime.toISOString().replace('.000Z', 'Z');
    await page.getByLabel('Restore to (UTC, to the second)').fill(chosen);
    await page.getByLabel('Restore to (UTC, to the second)').press('Enter');
    await page.locator('[data-testid=restore-time]', { hasText: chosen }).waitFor(STEP);
    await page.getByLabel('Alternate location (another database)').check();
    await page.getByLabel('Target server').selectOption(TARGET_CONTAINER);
    await page.getByLabel('Target instance').fill('MSSQLSERVER');
    await page.getByLabel('New database name').fill('sales_restored');
    await shot('timeline');
    await page.locator('[data-testid=restore]').click(STEP);

    // The Restore job appears and completes, live from the event stream.
    const job = page.locator('[data-testid=restore-job][data-status=Completed]');
    await job.waitFor({ timeout: 120_000 });
    const jobId = await job.getAttribute('data-job');
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    const { sourceSha256, restoredSha256 } = restoredContent(estate.agents, 'sales', 'sales_restored', pointInTime);
    expect(restoredSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(restoredSha256).toBe(sourceSha256);

    await page.getByRole('tab', { name: 'Jobs' }).click();
    await page.locator(`tr[data-job="${jobId}"][data-operation=Restore][data-status=Completed]`).waitFor(STEP);
    await shot('jobs');
  }, 240_000);

  it('lists the protected servers with the failed discovery, its code and how to fix it', async () => {
    await page.getByRole('tab', { name: 'Protected servers' }).click();
    const sqlvm1 = page.locator('tr[data-server=sqlvm1]');
    await sqlvm1.waitFor(STEP);
    await expect.poll(() => sqlvm1.textContent()).toContain('UserErrorSQLNoSysadminMembership');
    expect(await sqlvm1.textContent()).toContain('sysadmin server role');
    expect(await page.locator('tr[data-server=sqlvm2]').textContent()).toContain('Registered');
    await shot('servers');
    await sqlvm1.getByRole('button', { name: 'Rediscover DBs on sqlvm1' }).click();
    await sqlvm1.getByText('Rediscovery started').waitFor(STEP);
  });

  it('advances the emulator clock: the scheduled log backups run and show as jobs', async () => {
    await page.getByRole('tab', { name: 'Emulator' }).click();
    await page.getByLabel('Advance by (hours)').fill('1');
    await page.getByRole('button', { name: 'Advance the clock' }).click();
    await page.getByText(/scheduled backups ran/).waitFor({ timeout: 120_000 });
    expect(await page.getByText(/scheduled backups ran/).textContent()).toMatch(/: [1-9]\d* scheduled backups ran/);
  }, 180_000);

  it('lets a Backup Reader see everything and restore nothing: ARM refuses and the console says so', async () => {
    const readerPage = await chromium.context.newPage();
    const restoresBefore = await server.app.db.job.count({ where: { operation: 'Restore' } });
    await signIn(readerPage, reader.clientId, reader.clientSecret);
    await openVault(readerPage, VAULT);
    await readerPage.locator('tr[data-item=sales]').waitFor(STEP);
    expect(await readerPage.locator('tr[data-item]').count()).toBe(2);
    await openTimeline(readerPage, 'sales');
    const first = await readerPage.locator('[data-testid=timeline] .bar').first().getAttribute('data-end');
    const time = new Date(Date.parse(first!) - 60_000).toISOString().replace('.000Z', 'Z');
    await readerPage.getByLabel('Restore to (UTC, to the second)').fill(time);
    await readerPage.getByLabel('Restore to (UTC, to the second)').press('Enter');
    await readerPage.locator('[data-testid=restore]').click(STEP);
    const refused = readerPage.locator('[data-testid=restore-refused]');
    await refused.waitFor(STEP);
    expect(await refused.textContent()).toContain('HTTP 403 AuthorizationFailed');
    await shot('reader-refused', readerPage);
    expect(await server.app.db.job.count({ where: { operation: 'Restore' } })).toBe(restoresBefore);
    await readerPage.close();
  });

  it('renders the first screen of a 2000-item vault (measured and printed)', async () => {
    // A second vault at the 2000-item limit (seeded last: the clock tests above would run its schedules).
    await estate.vaults.vaults.createOrUpdate(
      RESOURCE_GROUP,
      'big-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      { updateIntervalInMs: 50 },
    );
    await estate.backup.protectionPolicies.createOrUpdate(
      'big-vault',
      RESOURCE_GROUP,
      'Daily',
      asSdkPolicy(fullPolicy()),
    );
    const big = await server.app.db.vault.findFirstOrThrow({ where: { nameKey: 'big-vault' } });
    await seedProtectedItems(database.url, big.id, 20, 2000, server.app.clock.now());
    const fresh = await chromium.context.newPage();
    await signIn(fresh, DEV_PRINCIPAL.clientId ?? '', DEV_PRINCIPAL.clientSecret ?? '');
    const t0 = await fresh.evaluate(() => performance.now());
    await fresh.getByRole('button', { name: 'Open vault big-vault' }).click();
    await fresh.locator('[data-testid=usage]', { hasText: '2000 / 2000' }).waitFor(STEP);
    await fresh.locator('tr[data-item]').nth(99).waitFor(STEP);
    const firstScreen = (await fresh.evaluate(() => performance.now())) - t0;
    await fresh.locator('[data-testid=item-count]', { hasText: /^2000 of 2000$/ }).waitFor({ timeout: 60_000 });
    const allItems = (await fresh.evaluate(() => performance.now())) - t0;
    process.stdout.write(
      `console: first screen of a 2000-item vault in ${firstScreen.toFixed(0)} ms (summary and 100 rows); all 2000 items loaded in ${allItems.toFixed(0)} ms\n`,
    );
    await fresh.getByLabel('Name or server').fill('db1999');
    await expect.poll(() => fresh.locator('tr[data-item]').count()).toBe(1);
    await fresh.getByLabel('Name or server').fill('');
    await fresh.getByLabel('Health', { exact: true }).selectOption('unhealthy');
    // One in 37 of the seeded databases is ActionRequired: 0, 37, …, 1998.
    await fresh.locator('[data-testid=item-count]', { hasText: /^55 of 2000$/ }).waitFor(STEP);
    await fresh.close();
  });
});
