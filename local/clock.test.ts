import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClockAdvance, LocalClock } from './clock.js';
import { type ClockReading, startControlPlane } from './control-plane.js';

const DAY_MS = 86_400_000;

describe('the local cloud clock', () => {
  it('starts at offset 0 and only moves forward, by whole milliseconds', () => {
    const clock = new LocalClock();
    expect(clock.offsetMs).toBe(0);

    expect(clock.advance(15 * DAY_MS)).toBe(15 * DAY_MS);
    expect(clock.advance(0)).toBe(15 * DAY_MS);
    expect(clock.advance(1)).toBe(15 * DAY_MS + 1);

    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1.5, Number.MAX_SAFE_INTEGER + 2])
      expect(() => clock.advance(bad)).toThrow(RangeError);
    expect(clock.offsetMs).toBe(15 * DAY_MS + 1);
  });

  it('reads real time plus the offset', () => {
    const clock = new LocalClock();
    clock.advance(DAY_MS);

    const before = Date.now();
    const now = clock.now();
    const after = Date.now();

    expect(now).toBeGreaterThanOrEqual(before + DAY_MS);
    expect(now).toBeLessThanOrEqual(after + DAY_MS);
  });

  it('tells its listeners about each advance until they unsubscribe', () => {
    const clock = new LocalClock();
    const seen: ClockAdvance[] = [];
    const unsubscribe = clock.onAdvance((advance) => seen.push(advance));

    clock.advance(1_000);
    clock.advance(0);
    clock.advance(2_000);
    unsubscribe();
    clock.advance(4_000);

    expect(seen).toEqual([
      { advancedByMs: 1_000, offsetMs: 1_000 },
      { advancedByMs: 2_000, offsetMs: 3_000 },
    ]);
  });

  it('shares its offset through its buffer: another view sees an advance at once', () => {
    const clock = new LocalClock();
    const view = new LocalClock(clock.buffer);

    clock.advance(42);

    expect(view.offsetMs).toBe(42);
    expect(new BigInt64Array(clock.buffer)[0]).toBe(42n);
  });
});

describe('control plane: GET and POST /clock', () => {
  const clock = new LocalClock();
  let control: Awaited<ReturnType<typeof startControlPlane>>;
  beforeAll(async () => {
    // The clock routes touch neither the issuer nor the CA.
    control = await startControlPlane({
      port: 0,
      issuer: {} as never,
      clientId: 'client',
      ca: {} as never,
      clock,
    });
  });
  afterAll(() => control?.close());

  const post = (body: string) =>
    fetch(`${control.url}/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('reads the clock', async () => {
    const before = Date.now() + clock.offsetMs;

    const response = await fetch(`${control.url}/clock`);
    const reading = (await response.json()) as ClockReading;

    expect(response.status).toBe(200);
    expect(reading.offsetSeconds).toBe(clock.offsetMs / 1000);
    expect(Date.parse(reading.now)).toBeGreaterThanOrEqual(before);
  });

  it('moves the clock forward by advanceSeconds and answers the new reading', async () => {
    const offsetBefore = clock.offsetMs;
    const earliest = Date.now() + offsetBefore + 1_296_000_000;

    const response = await post(JSON.stringify({ advanceSeconds: 1_296_000 }));
    const reading = (await response.json()) as ClockReading;

    expect(response.status).toBe(200);
    expect(clock.offsetMs).toBe(offsetBefore + 1_296_000_000);
    expect(reading.offsetSeconds).toBe(offsetBefore / 1000 + 1_296_000);
    expect(Date.parse(reading.now)).toBeGreaterThanOrEqual(earliest);
  });

  it.each([
    ['a negative advance', JSON.stringify({ advanceSeconds: -60 })],
    ['zero', JSON.stringify({ advanceSeconds: 0 })],
    ['a fraction of a second', JSON.stringify({ advanceSeconds: 1.5 })],
    ['a string', JSON.stringify({ advanceSeconds: '60' })],
    ['more than 366 days', JSON.stringify({ advanceSeconds: 366 * 86_400 + 1 })],
    ['an unknown member', JSON.stringify({ advanceSeconds: 60, rewind: true })],
    ['no advanceSeconds', '{}'],
    ['a body that is not JSON', 'fifteen days'],
  ])('refuses %s with 400 and leaves the clock alone', async (_case, body) => {
    const offsetBefore = clock.offsetMs;

    const response = await post(body);
    const error = (await response.json()) as { message: string };

    expect(response.status).toBe(400);
    expect(typeof error.message).toBe('string');
    expect(clock.offsetMs).toBe(offsetBefore);
  });

  it('accepts exactly 366 days', async () => {
    const response = await post(JSON.stringify({ advanceSeconds: 366 * 86_400 }));

    expect(response.status).toBe(200);
  });
});
