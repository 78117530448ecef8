import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_PORTS, type LocalCloud, startLocalCloud } from './cloud.js';
import type { ClockReading } from './control-plane.js';

const FIFTEEN_DAYS_S = 15 * 86_400;

/**
 * The cloud's clock as a whole cloud wires it: one clock behind `cloud.clock` and `POST /clock`, and
 * transport that stays on real time (the handlers' view of the clock has its own tests, beside the
 * Lambda service and the scheduler).
 */
describe('local cloud: the clock', () => {
  let cloud: LocalCloud;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'civic-clock-cloud-'));
    cloud = await startLocalCloud({ inMemory: true, dataDir, synth: 'never', ports: FREE_PORTS });
  }, 120_000);

  afterAll(async () => {
    await cloud?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('moves cloud.clock from the control plane, and a token minted before an advance stays valid', async () => {
    const token = await cloud.token({ role: 'street-office' });
    const compounds = () =>
      fetch(`${cloud.endpoints.api}/compounds`, { headers: { authorization: `Bearer ${token}` } });
    const statusBefore = (await compounds()).status;
    const offsetBefore = cloud.clock.offsetMs;

    const response = await fetch(`${cloud.endpoints.control}/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceSeconds: FIFTEEN_DAYS_S }),
    });
    const reading = (await response.json()) as ClockReading;

    expect(response.status).toBe(200);
    expect(cloud.clock.offsetMs).toBe(offsetBefore + FIFTEEN_DAYS_S * 1000);
    expect(reading.offsetSeconds).toBe(cloud.clock.offsetMs / 1000);
    expect(statusBefore).toBe(200);
    expect((await compounds()).status).toBe(statusBefore);
  });
});
