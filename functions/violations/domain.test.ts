import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideIngest, type RuleEvent } from './domain.js';

const event = (payload: unknown, overrides: Partial<RuleEvent> = {}): RuleEvent => ({
  payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64'),
  compoundId: 'xiling',
  thingName: 'fl-geomag-0001',
  signal: 'occupancy',
  clientId: 'fl-geomag-0001',
  receivedAt: Date.UTC(2026, 10, 26, 1, 0, 0),
  ...overrides,
});

describe('decideIngest', () => {
  it('accepts a JSON object, keeps device time and sequence apart from the fields', () => {
    const decision = decideIngest(event({ ts: '2026-11-26T09:00:00+08:00', seq: 7, occupied: true }));
    expect(decision).toEqual({
      kind: 'accepted',
      compoundId: 'xiling',
      thingName: 'fl-geomag-0001',
      signal: 'occupancy',
      observedAt: '2026-11-26T01:00:00.000Z',
      receivedAt: '2026-11-26T01:00:00.000Z',
      seq: 7,
      fields: { occupied: true },
    });
  });

  it('uses the broker time when the device sends none, and accepts epoch milliseconds', () => {
    expect(decideIngest(event({ occupied: false }))).toMatchObject({
      observedAt: '2026-11-26T01:00:00.000Z',
    });
    expect(decideIngest(event({ ts: Date.UTC(2026, 0, 1) }))).toMatchObject({
      observedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it.each([
    ['not JSON', 'occupied=yes', 'payload is not JSON'],
    ['a JSON array', [1, 2], 'payload is not a JSON object'],
    ['a JSON string', '"hello"', 'payload is not a JSON object'],
    ['a negative sequence', { seq: -1 }, 'seq:'],
    ['a malformed device time', { ts: '26/11/2026' }, 'ts:'],
  ])('rejects %s with a reason', (_name, payload, reason) => {
    const decision = decideIngest(event(payload));
    expect(decision.kind).toBe('rejected');
    expect(decision.kind === 'rejected' && decision.reason).toContain(reason);
  });

  it.each([
    ['an invalid compound', { compoundId: 'Bad Compound!' }, 'topic: compound'],
    ['an invalid thing', { thingName: 'a/b' }, 'topic: thing'],
    ['a missing signal', { signal: undefined }, 'topic: signal'],
  ])('rejects a topic with %s', (_name, overrides, reason) => {
    const decision = decideIngest(event({ occupied: true }, overrides));
    expect(decision.kind === 'rejected' && decision.reason).toContain(reason);
  });

  it('never lets one client speak for another thing', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9:_-]{1,20}$/),
        fc.stringMatching(/^[A-Za-z0-9:_-]{1,20}$/),
        (client, thing) => {
          fc.pre(client !== thing);
          const decision = decideIngest(event({ occupied: true }, { clientId: client, thingName: thing }));
          expect(decision).toMatchObject({
            kind: 'rejected',
            reason: `client ${client} may not publish for thing ${thing}`,
          });
        },
      ),
    );
  });

  it('never throws, whatever bytes arrive, and always says why it rejects', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const decision = decideIngest({ ...event({}), payload: Buffer.from(bytes).toString('base64') });
        if (decision.kind === 'rejected') expect(decision.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it('drops a field named __proto__ at any depth, and no prototype changes', () => {
    const decision = decideIngest(
      event('{"a":{"__proto__":{"polluted":1}},"__proto__":{"polluted":2},"b":1}'),
    );
    expect(decision.kind).toBe('accepted');
    const fields = (decision.kind === 'accepted' ? decision.fields : {}) as Record<string, any>;
    expect(fields).toEqual({ a: {}, b: 1 });
    expect(Object.getPrototypeOf(fields.a)).toBe(Object.prototype);
    expect(fields.a.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts every storable JSON object whose ts and seq are absent, keeping all its fields', () => {
    // Fields named __proto__ are the one exception: they are dropped (previous test).
    const noProto = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('"__proto__"'));
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), noProto, { maxKeys: 6 }), (fields) => {
        delete (fields as Record<string, unknown>).ts;
        delete (fields as Record<string, unknown>).seq;
        const decision = decideIngest(event(fields));
        const sent = JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
        if (storable(sent)) {
          expect(decision.kind).toBe('accepted');
          expect(decision.kind === 'accepted' && decision.fields).toEqual(sent);
        } else {
          expect(decision.kind).toBe('rejected');
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a number beyond 2^53', { reading: 2 ** 53 + 2 }, 'reading: 9007199254740994 is beyond'],
    ['a number too large for DynamoDB', { reading: { max: 1e300 } }, 'reading.max: 1e+300 is beyond'],
    ['a number too close to zero', { readings: [1, -1e-200] }, 'readings.1: -1e-200 is closer to zero'],
    ['an empty key', { wiring: { '': 'x' } }, 'wiring: a key is empty'],
    ['17 levels of nesting', { deep: nested(15) }, 'nested deeper than 16 levels'],
    ['a device time a JavaScript Date cannot hold', { ts: 9e15 }, 'ts:'],
    ['a device time more than 5 minutes ahead', { ts: Date.UTC(2026, 10, 26, 1, 5, 1) }, 'ahead'],
  ])('rejects %s with the reason', (_name, payload, reason) => {
    const decision = decideIngest(event(payload));
    expect(decision.kind).toBe('rejected');
    expect(decision.kind === 'rejected' && decision.reason).toContain(reason);
  });

  it.each([
    ['the largest exact integers', { high: Number.MAX_SAFE_INTEGER, low: -Number.MAX_SAFE_INTEGER }],
    ['the smallest magnitude DynamoDB stores', { tiny: 1e-130, zero: 0 }],
    ['16 levels of nesting, the message itself the first', { deep: nested(14) }],
    ['a device time up to 5 minutes ahead', { ts: Date.UTC(2026, 10, 26, 1, 5, 0) }],
  ])('accepts %s', (_name, payload) => {
    expect(decideIngest(event(payload)).kind).toBe('accepted');
  });
});

/** An object `levels` levels deep below its top: nested(1) = { n: {} }. */
function nested(levels: number): Record<string, unknown> {
  return levels === 0 ? {} : { n: nested(levels - 1) };
}

/** The test's own statement of what DynamoDB stores exactly (the oracle for the property above). */
function storable(value: unknown, depth = 0): boolean {
  if (typeof value === 'number')
    return Math.abs(value) <= Number.MAX_SAFE_INTEGER && (value === 0 || Math.abs(value) >= 1e-130);
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= 16) return false;
  if (Array.isArray(value)) return value.every((element) => storable(element, depth + 1));
  return Object.entries(value).every(([key, element]) => key !== '' && storable(element, depth + 1));
}
