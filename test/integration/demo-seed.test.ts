import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.js';
import { DEMO } from '../../local/demo-data.js';
import { seedDemoData } from '../../local/seed.js';
import { startTestCloud } from '../support/cloud.js';

describe('demo data on an empty store', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let token: string;
  const devicesDir = mkdtempSync(path.join(tmpdir(), 'civic-demo-devices-'));

  const get = async (route: string) => {
    const response = await fetch(`${cloud.endpoints.api}${route}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status, route).toBe(200);
    return (await response.json()) as { items: Record<string, unknown>[]; nextCursor?: string };
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    token = await cloud.token({ role: 'street-office' });
  }, 180_000);
  afterAll(async () => stop?.());

  it('seeds compounds, areas, a few hundred units, staff, zones and devices once', async () => {
    expect(await seedDemoData({ apiUrl: cloud.endpoints.api, token, devicesDir })).toEqual({ seeded: true });
    expect(await seedDemoData({ apiUrl: cloud.endpoints.api, token, devicesDir })).toEqual({ seeded: false });

    expect((await get('/compounds')).items.map((item) => item.id).sort()).toEqual(
      DEMO.compounds.map((c) => c.compoundId).sort(),
    );
    let units = 0;
    for (const area of DEMO.areas) {
      let cursor: string | undefined;
      do {
        const page = await get(`/areas/${area.areaId}/units?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        units += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
    }
    expect(units).toBe(
      DEMO.areas.reduce((sum, area) => sum + area.buildings.length * area.floors * area.roomsPerFloor, 0),
    );
    expect(units).toBeGreaterThanOrEqual(200);
    expect((await get('/compounds/xiling/zones')).items.length).toBe(
      DEMO.zones.filter((zone) => zone.compoundId === 'xiling').length,
    );
    expect((await get('/compounds/xiling/devices')).items.length).toBe(
      DEMO.devices.filter((device) => device.compoundId === 'xiling').length,
    );
    expect(readdirSync(devicesDir).sort()).toEqual(DEMO.devices.map((device) => device.thingName).sort());
  });
});
