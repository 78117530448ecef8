import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../device-shims/device.js';
import type { LocalCloud } from '../../local/cloud.js';
import { createLocalIssuer } from '../../local/http-api/index.js';
import { connectThing, eventually, startTestCloud } from '../support/cloud.js';

const COMPOUND = 'xiling';
const THING = 'fl-geomag-0001';

describe('local cloud: device → rule → Lambda → DynamoDB → HTTP API', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let logs: string[];
  let token: string;
  let device: Device;

  const api = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${cloud.endpoints.api}${path}`, {
      ...init,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.headers as Record<string, string>),
      },
    });

  const telemetryOf = async (thing: string) => {
    const response = await api(`/compounds/${COMPOUND}/devices/${thing}/telemetry`, { token });
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: { seq?: number; fields: Record<string, unknown> }[] }).items;
  };

  const rejected = async () => {
    const response = await api(`/compounds/${COMPOUND}/rejected-telemetry`, { token });
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: { reason: string; clientId: string; topic: string }[] })
      .items;
  };

  beforeAll(async () => {
    ({ cloud, stop, logs } = await startTestCloud());
    token = await cloud.token({ role: 'street-office' });
    // Ingest only accepts devices in the registry: register this one (and an intruder) first.
    const post = (path: string, body: unknown) =>
      api(path, {
        method: 'POST',
        token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/compounds', { compoundId: COMPOUND, name: '西凌新村' })).status).toBe(201);
    const position = { lat: 31.2052, lon: 121.4901 };
    expect(
      (
        await post(`/compounds/${COMPOUND}/zones`, {
          zoneId: 'parking-b',
          kind: 'parking-space',
          name: 'B区',
          position,
        })
      ).status,
    ).toBe(201);
    for (const thingName of [THING, 'fl-geomag-0002']) {
      expect(
        (
          await post(`/compounds/${COMPOUND}/devices`, {
            thingName,
            type: 'geomagnetic-sensor',
            zoneId: 'parking-b',
            position,
          })
        ).status,
      ).toBe(201);
    }
    device = await connectThing(cloud, THING);
  }, 180_000);

  afterAll(async () => {
    await device?.disconnect();
    await stop?.();
  });

  it('stores a device publish over mutual TLS and serves it through the API with a valid token', async () => {
    await device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, {
      ts: '2026-11-26T01:00:00Z',
      seq: 1,
      occupied: true,
    });

    const items = await eventually(
      async () => {
        const found = await telemetryOf(THING);
        return found.length > 0 ? found : undefined;
      },
      15_000,
      'telemetry to be readable',
    );

    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ seq: 1, fields: { occupied: true } });
  });

  it('stores a redelivered message once (at-least-once delivery)', async () => {
    const message = { ts: '2026-11-26T01:05:00Z', seq: 2, occupied: false };
    await device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, message);
    await device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, message);
    await eventually(async () =>
      (await telemetryOf(THING)).some((item) => item.seq === 2) ? true : undefined,
    );
    await cloud.drain();

    expect((await telemetryOf(THING)).filter((item) => item.seq === 2)).toHaveLength(1);
  });

  it('answers 401 without a token, with a token from a foreign issuer, and with a forged key', async () => {
    const path = `/compounds/${COMPOUND}/devices/${THING}/telemetry`;
    const foreign = await createLocalIssuer({
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_foreign',
    });
    const forged = await createLocalIssuer({ issuer: cloud.issuer.issuer });
    const audience = cloud.stack.userPools[0]?.clientIds[0] as string;
    const foreignToken = await foreign.mint({
      username: 'mallory',
      clientId: audience,
      groups: ['street-office'],
      tokenUse: 'id',
    });
    const forgedToken = await forged.mint({
      username: 'mallory',
      clientId: audience,
      groups: ['street-office'],
      tokenUse: 'id',
    });

    for (const attempt of [undefined, foreignToken, forgedToken, 'not-a-jwt']) {
      const response = await api(path, { token: attempt });
      expect(response.status).toBe(401);
    }
  });

  it('refuses a publish under another thing’s topic: the device is cut off and nothing is stored', async () => {
    let cutOff!: () => void;
    const interrupted = new Promise<void>((resolve) => {
      cutOff = resolve;
    });
    const intruder = await connectThing(cloud, 'fl-geomag-0002', { onInterrupted: () => cutOff() });
    void intruder
      .publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, { seq: 99, occupied: true })
      .catch(() => undefined);
    await interrupted;
    await cloud.drain();

    expect(logs.some((line) => line.includes('iot policy denied publish by fl-geomag-0002'))).toBe(true);
    expect((await telemetryOf(THING)).some((item) => item.seq === 99)).toBe(false);
    expect((await rejected()).some((item) => item.clientId === 'fl-geomag-0002')).toBe(false);
    expect(cloud.rules.deliveredCount).toBeGreaterThan(0);
    await intruder.disconnect();
  });

  it('records a non-JSON payload as rejected telemetry and keeps working', async () => {
    await device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, 'occupied=yes');

    const items = await eventually(async () => {
      const found = (await rejected()).filter((item) => item.clientId === THING);
      return found.length > 0 ? found : undefined;
    });
    expect(items[0]).toMatchObject({
      reason: 'payload is not JSON',
      topic: `dt/civic/${COMPOUND}/${THING}/occupancy`,
    });

    await device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, {
      ts: '2026-11-26T01:10:00Z',
      seq: 3,
      occupied: true,
    });
    await eventually(async () =>
      (await telemetryOf(THING)).some((item) => item.seq === 3) ? true : undefined,
    );
    expect(cloud.lambda.asyncFailures).toEqual([]);
  });

  it('records what DynamoDB could not store as rejected, and the messages around it are stored', async () => {
    // Stored, each of these would fail the BatchWriteItem (or the handler) and with it every message
    // that arrived in the same batch, until the batch went to the dead-letter queue.
    const poison = [
      { seq: 21, reading: 1e300 },
      { seq: 22, wiring: { '': 'live' } },
      { seq: 23, ts: 9e15 },
    ];
    await Promise.all([
      device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, { seq: 20, occupied: false }),
      ...poison.map((payload) => device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, payload)),
      device.publish(`dt/civic/${COMPOUND}/${THING}/occupancy`, { seq: 24, occupied: false }),
    ]);
    await cloud.drain();

    const reasons = (await rejected()).filter((item) => item.clientId === THING).map((item) => item.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'reading: 1e+300 is beyond ±9007199254740991, which cannot be stored exactly',
        'wiring: a key is empty',
        expect.stringMatching(/^ts: /),
      ]),
    );
    const stored = (await telemetryOf(THING)).map((item) => item.seq);
    expect(stored).toEqual(expect.arrayContaining([20, 24]));
    expect(stored).not.toEqual(expect.arrayContaining([21]));
    expect(logs.filter((line) => /failed on a batch|Device messages failed/.test(line))).toEqual([]);
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const response = await api('/no/such/route', { token });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });

  it('answers a malformed JSON body with 400 problem+json, and a wrong field with its pointer', async () => {
    const post = (body: string) =>
      api('/compounds', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body });

    const malformed = await post('{"compoundId": "a",');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toBe('application/problem+json');
    expect(await malformed.json()).toMatchObject({ status: 400, errors: [{ pointer: '/body' }] });

    const wrongType = await post(JSON.stringify({ compoundId: 'new-compound', name: 42 }));
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toMatchObject({ errors: [{ pointer: '/body/name' }] });

    const missing = await api('/compounds/new-compound', { token });
    expect(missing.status).toBe(404);
  });

  it('records telemetry from a thing that is not in the registry as rejected, with the reason', async () => {
    const stranger = await connectThing(cloud, 'fl-unregistered-9');
    await stranger.publish(`dt/civic/${COMPOUND}/fl-unregistered-9/occupancy`, { seq: 1, occupied: true });
    const items = await eventually(async () => {
      const found = (await rejected()).filter((item) => item.clientId === 'fl-unregistered-9');
      return found.length > 0 ? found : undefined;
    });
    expect(items[0]?.reason).toContain('unknown thing');
    await stranger.disconnect();
  });

  it('creates and reads a compound with its version as ETag', async () => {
    const created = await api('/compounds', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ compoundId: COMPOUND, name: '西凌新村' }),
    });
    expect(created.status).toBe(409);
    const read = await api(`/compounds/${COMPOUND}`, { token });
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(await read.json()).toMatchObject({
      compoundId: COMPOUND,
      name: '西凌新村',
      subDistrictId: 'sd-banshongyuan',
    });

    const foreignOffice = await cloud.token({ role: 'street-office', subDistrictId: 'sd-elsewhere' });
    expect((await api(`/compounds/${COMPOUND}`, { token: foreignOffice })).status).toBe(404);
    const owner = await cloud.token({ role: 'owner' });
    expect(
      (
        await api('/compounds', {
          method: 'POST',
          token: owner,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(403);
  });
});
