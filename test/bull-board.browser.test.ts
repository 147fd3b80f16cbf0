import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  findFreePort,
  http,
  OUTPUT_DIR,
  tempDataDir,
  useToken,
  waitForExport,
} from './system-helpers.js';

// Bull Board as a person sees it: Debian's Chromium, driven by playwright-core (.ci/run installs it).
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'board-token-0123456789abcdef';
useToken(TOKEN);
let system: LaunchedSystem;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await tempDataDir('board'),
    logDir: path.join(OUTPUT_DIR, 'board-logs'),
    env: {
      PATH: process.env.PATH,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{board-${process.pid}}`,
      INTAKE_API_TOKENS: TOKEN,
      SIM_OPERATION_SECONDS: '2',
      SIM_ROWS_PER_EXPORT: '50',
      POLL_MIN_DELAY_MS: '300',
      POLL_FIRST_DELAY_MS: '300',
      QUOTA_PER_MINUTE: '600',
      SIM_QUOTA_PER_MINUTE: '600',
    },
  });
}, 90_000);
afterAll(() => system?.stop());

describe('Bull Board in a browser', () => {
  it('lists the five queues, shows the completed export and the poll job progress', async () => {
    const { json } = await http('POST', `${system.intakeUrl}/v1/exports`, {
      segmentId: 'everyone',
      type: 'events',
      format: 'json',
      timeRange: { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' },
    });
    expect((await waitForExport(system.intakeUrl, json.id, 60_000)).state).toBe('completed');

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const context = await browser.newContext({
        httpCredentials: { username: 'fsx', password: TOKEN },
        viewport: { width: 1400, height: 900 },
      });
      const page = await context.newPage();
      await page.goto(`${system.intakeUrl}/admin/queues`);
      for (const queue of ['create', 'poll', 'fetch', 'download', 'ingest']) {
        await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      await page.goto(`${system.intakeUrl}/admin/queues/queue/ingest?status=completed`);
      await page.getByText(`${json.id}.ingest.4`).first().waitFor({ timeout: 15_000 });
      await page.goto(`${system.intakeUrl}/admin/queues/queue/poll?status=completed`);
      const pollJob = page.getByText(new RegExp(`${json.id}\\.poll\\.`)).first();
      await pollJob.waitFor({ timeout: 15_000 });
      // A poll job's progress is FullStory's estimatePctComplete; the finished one shows 100%.
      await page.getByText('100%').first().waitFor({ timeout: 15_000 });
      await mkdir(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'bull-board-poll.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
