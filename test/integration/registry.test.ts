import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../../device-shims/device.js';
import type { LocalCloud } from '../../local/cloud.js';
import { startTestCloud } from '../support/cloud.js';

const AREA = 'lane-88';
const HEADER = '\uFEFF楼号,室号,专有面积,业主姓名,证件号后四位,手机\r\n';
const ROWS = [
  '1,101,89.37,张伟,1234,13800001111',
  '1,102,76.50,李娜,2345,13800002222',
  '２,２０１,１０２.０５,张伟,1234,13800001111', // full-width digits; the same owner as line 2
];

describe('registry: roster import, optimistic concurrency, tenancy', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let office: string;

  const api = async (
    path: string,
    init: {
      method?: string;
      token?: string;
      body?: string;
      type?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const response = await fetch(`${cloud.endpoints.api}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${init.token ?? office}`,
        ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  };
  const importCsv = (csv: string) =>
    api(`/areas/${AREA}/roster`, { method: 'POST', body: csv, type: 'text/csv' });
  const units = async () =>
    (await api(`/areas/${AREA}/units?limit=100`)).body.items as {
      id: string;
      area: string;
      version: number;
    }[];

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    office = await cloud.token({ role: 'street-office', subDistrictId: 'sd-test' });
    expect(
      (
        await api('/compounds', {
          method: 'POST',
          body: JSON.stringify({ compoundId: 'lane', name: '弄堂' }),
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('/compounds/lane/areas', {
          method: 'POST',
          body: JSON.stringify({ areaId: AREA, name: '88弄' }),
        })
      ).status,
    ).toBe(201);
  }, 180_000);

  afterAll(async () => stop?.());

  it('imports a roster with BOM, CRLF, Chinese headers and full-width digits; one owner of two units counts once', async () => {
    const response = await importCsv(HEADER + ROWS.join('\r\n'));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      rows: 3,
      ownerCount: 2,
      units: { created: 3 },
      owners: { created: 2 },
    });
    expect(response.body.totalArea).toMatch(/^267\.92?0?$/);
    expect((await units()).map((unit) => unit.area).sort()).toEqual(['102.05', '76.50', '89.37'].sort());
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await units();
    const response = await importCsv(HEADER + ROWS.join('\r\n'));
    expect(response.body).toMatchObject({
      units: { created: 0, updated: 0, unchanged: 3 },
      owners: { created: 0, updated: 0, unchanged: 2 },
    });
    expect(await units()).toEqual(before);
  });

  it('updates only the unit whose row changed', async () => {
    const changed = [ROWS[0], '1,102,76.55,李娜,2345,13800002222', ROWS[2]];
    const response = await importCsv(HEADER + changed.join('\r\n'));
    expect(response.body).toMatchObject({ units: { updated: 1, unchanged: 2 } });
    const byArea = Object.fromEntries((await units()).map((unit) => [unit.area, unit.version]));
    expect(byArea).toMatchObject({ '76.55': 2, '89.37': 1, '102.05': 1 });
  });

  it('rejects the whole file when one row is bad, naming its line, and imports nothing', async () => {
    const before = await units();
    const response = await importCsv(
      `${HEADER + ROWS.join('\r\n')}\r\n3,301,89,37,王芳,3456,13800003333\r\n3,302,88.00,赵强,4567,13800004444`,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body.errors).toEqual([
      expect.objectContaining({ detail: expect.stringContaining('line 5') }),
    ]);
    expect(await units()).toEqual(before);
  });

  it('masks phone numbers in lists and shows them to the office on a single owner', async () => {
    const owners = (await api(`/areas/${AREA}/owners`)).body.items as { id: string; phone: string }[];
    expect(owners.every((owner) => /^\d{3}\*{4}\d{4}$/.test(owner.phone))).toBe(true);
    const one = await api(`/owners/${encodeURIComponent(owners[0]?.id as string)}`);
    expect(one.body.phone).toMatch(/^1\d{10}$/);
  });

  it('updates with If-Match: missing → 400, stale → 412, current → 200 with a new ETag', async () => {
    const unit = (await units())[0] as { id: string };
    const path = `/units/${encodeURIComponent(unit.id)}`;
    const current = await api(path);
    const etag = current.headers.get('etag') as string;
    const patch = JSON.stringify({ note: '独居老人' });
    expect((await api(path, { method: 'PATCH', body: patch })).status).toBe(400);
    expect((await api(path, { method: 'PATCH', body: patch, headers: { 'if-match': '"999"' } })).status).toBe(
      412,
    );
    const updated = await api(path, { method: 'PATCH', body: patch, headers: { 'if-match': etag } });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).not.toBe(etag);
    expect((await api(path, { method: 'PATCH', body: patch, headers: { 'if-match': etag } })).status).toBe(
      412,
    );
  });

  it('refuses bad input with 4xx problem+json and writes nothing', async () => {
    const cases = [
      { body: JSON.stringify({ compoundId: 'x y', name: 1 }), status: 400 },
      { body: JSON.stringify({ compoundId: 'ok-id', name: 'n', extra: true }), status: 400 },
      { body: '{"compoundId":', status: 400 },
      { body: JSON.stringify({ compoundId: 'ok-id', name: 'n' }), type: 'text/plain', status: 415 },
    ];
    for (const { body, type, status } of cases) {
      const response = await api('/compounds', { method: 'POST', body, type });
      expect(response.status, body).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await api('/compounds/ok-id')).status).toBe(404);
    const huge = `${HEADER}${'9,999,80.00,某某,1111,13800009999\r\n'.repeat(200_000)}`;
    expect((await importCsv(huge)).status).toBe(413);
  });

  it('keeps ids per sub-district: creating an id another sub-district uses makes your own record and leaves theirs', async () => {
    const other = await cloud.token({ role: 'street-office', subDistrictId: 'sd-neighbour' });
    const theirs = await api('/compounds', {
      method: 'POST',
      token: other,
      body: JSON.stringify({ compoundId: 'shared-id', name: '他们的' }),
    });
    expect(theirs.status).toBe(201);
    const ours = await api('/compounds', {
      method: 'POST',
      body: JSON.stringify({ compoundId: 'shared-id', name: '我们的' }),
    });
    expect(ours.status).toBe(201);
    expect((await api('/compounds/shared-id', { token: other })).body).toMatchObject({
      name: '他们的',
      subDistrictId: 'sd-neighbour',
      version: 1,
    });
    expect((await api('/compounds/shared-id')).body).toMatchObject({
      name: '我们的',
      subDistrictId: 'sd-test',
    });
  });

  it('hides another sub-district’s records as not found and lists none of them', async () => {
    const foreign = await cloud.token({ role: 'street-office', subDistrictId: 'sd-other' });
    const unit = (await units())[0] as { id: string };
    expect((await api(`/units/${encodeURIComponent(unit.id)}`, { token: foreign })).status).toBe(404);
    expect((await api(`/areas/${AREA}/units`, { token: foreign })).status).toBe(404);
    expect((await api('/compounds', { token: foreign })).body.items).toEqual([]);
    expect((await importCsv.call(null, HEADER + ROWS.join('\r\n'))).status).toBe(200);
    const evaluator = await cloud.token({ role: 'evaluator', subDistrictId: 'sd-test' });
    expect((await api(`/areas/${AREA}/units`, { token: evaluator })).status).toBe(403);
  });

  it('registers a device (thing, certificate, policy), lets it publish, and refuses it once decommissioned', async () => {
    const zone = {
      zoneId: 'fire-lane-1',
      kind: 'fire-lane',
      name: '消防通道',
      position: { lat: 31.2, lon: 121.49 },
    };
    expect((await api('/compounds/lane/zones', { method: 'POST', body: JSON.stringify(zone) })).status).toBe(
      201,
    );
    const registered = await api('/compounds/lane/devices', {
      method: 'POST',
      body: JSON.stringify({
        thingName: 'lane-geomag-01',
        type: 'geomagnetic-sensor',
        zoneId: 'fire-lane-1',
        position: { lat: 31.2, lon: 121.49 },
      }),
    });
    expect(registered.status).toBe(201);
    const { credentials } = registered.body as {
      credentials: { certificatePem: string; privateKey: string; thingName: string };
    };
    expect((await api('/devices/lane-geomag-01')).body).toMatchObject({
      type: 'geomagnetic-sensor',
      status: 'active',
      compoundId: 'lane',
    });

    const dir = mkdtempSync(path.join(tmpdir(), 'civic-device-'));
    writeFileSync(path.join(dir, 'cert.pem'), credentials.certificatePem);
    writeFileSync(path.join(dir, 'key.pem'), credentials.privateKey);
    const identity = {
      thingName: credentials.thingName,
      certificatePath: path.join(dir, 'cert.pem'),
      privateKeyPath: path.join(dir, 'key.pem'),
      caPath: cloud.caPath,
    };
    let interrupted = false;
    const device = await connectDevice(identity, cloud.endpoints.mqtt, {
      onInterrupted: () => {
        interrupted = true;
      },
    });
    await device.publish('dt/civic/lane/lane-geomag-01/occupancy', { seq: 1, occupied: true });

    expect((await api('/devices/lane-geomag-01', { method: 'DELETE' })).body).toMatchObject({
      status: 'decommissioned',
    });
    for (let i = 0; i < 100 && !interrupted; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(interrupted).toBe(true);
    await device.disconnect();
    await expect(connectDevice(identity, cloud.endpoints.mqtt, { timeoutMs: 5_000 })).rejects.toThrow();
  });

  it('decommissions idempotently and never reaches a thing name that moved to another sub-district', async () => {
    const other = await cloud.token({ role: 'street-office', subDistrictId: 'sd-other-2' });
    const zone = { zoneId: 'gate', kind: 'entrance', name: '门', position: { lat: 31.2, lon: 121.49 } };
    expect(
      (
        await api('/compounds', {
          method: 'POST',
          token: other,
          body: JSON.stringify({ compoundId: 'lane', name: '他们的' }),
        })
      ).status,
    ).toBe(201);
    expect(
      (await api('/compounds/lane/zones', { method: 'POST', token: other, body: JSON.stringify(zone) }))
        .status,
    ).toBe(201);
    const device = { thingName: 'moved-name', type: 'gate', zoneId: 'fire-lane-1', position: zone.position };
    expect(
      (await api('/compounds/lane/devices', { method: 'POST', body: JSON.stringify(device) })).status,
    ).toBe(201);
    expect((await api('/devices/moved-name', { method: 'DELETE' })).status).toBe(200);
    expect(
      (
        await api('/compounds/lane/devices', {
          method: 'POST',
          token: other,
          body: JSON.stringify({ ...device, zoneId: 'gate' }),
        })
      ).status,
    ).toBe(201);

    expect((await api('/devices/moved-name', { method: 'DELETE' })).body).toMatchObject({
      status: 'decommissioned',
      subDistrictId: 'sd-test',
    });
    expect((await api('/devices/moved-name', { token: other })).body).toMatchObject({ status: 'active' });
    expect((await api('/devices/moved-name', { method: 'DELETE', token: other })).body).toMatchObject({
      status: 'decommissioned',
      subDistrictId: 'sd-other-2',
    });
  });

  it('pages with sealed cursors: the next page follows, a forged, changed or foreign cursor answers 400', async () => {
    const first = await api(`/areas/${AREA}/units?limit=2`);
    expect(first.body.items).toHaveLength(2);
    const cursor = first.body.nextCursor as string;
    const second = await api(`/areas/${AREA}/units?limit=2&cursor=${encodeURIComponent(cursor)}`);
    expect(second.status).toBe(200);
    expect([...first.body.items, ...second.body.items].map((unit: { id: string }) => unit.id)).toHaveLength(
      3,
    );
    const other = await cloud.token({ role: 'street-office', subDistrictId: 'sd-test', sub: 'someone-else' });
    const forged = Buffer.from('{"pk":1}').toString('base64url');
    const changed = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    for (const [what, query, token] of [
      ['forged', `cursor=${forged}`, office],
      ['changed', `cursor=${encodeURIComponent(changed)}`, office],
      ['another caller’s', `cursor=${encodeURIComponent(cursor)}`, other],
      ['another list’s', `cursor=${encodeURIComponent(cursor)}&building=1`, office],
    ] as const) {
      const answer = await api(`/areas/${AREA}/units?limit=2&${query}`, { token });
      expect({ what, status: answer.status }).toEqual({ what, status: 400 });
      expect(answer.body.errors).toEqual([{ pointer: '/query/cursor', detail: expect.any(String) }]);
    }
  });

  it('lists an owner their own units in one page, never empty pages of other people’s', async () => {
    const owners = (await api(`/areas/${AREA}/owners`)).body.items as { id: string; name: string }[];
    const zhang = owners.find((owner) => owner.name === '张伟') as { id: string };
    const token = await cloud.token({
      role: 'owner',
      subDistrictId: 'sd-test',
      compoundIds: ['lane'],
      areaIds: [AREA],
      ownerId: zhang.id,
    });
    const page = await api(`/areas/${AREA}/units?limit=1`, { token });
    expect(page.status).toBe(200);
    expect(page.body.items.map((unit: { room: string }) => unit.room).sort()).toEqual(['101', '201']);
    expect(page.body.nextCursor).toBeUndefined();
    expect((await api(`/areas/${AREA}/owners?limit=1`, { token })).body.items).toEqual([
      expect.objectContaining({ id: zhang.id }),
    ]);
  });
});
