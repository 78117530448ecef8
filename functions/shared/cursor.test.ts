import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Caller } from './auth.js';
import { CURSOR_TTL_MS, cursorScope, openCursor, sealCursor } from './cursor.js';
import { BadRequestError } from './errors.js';

const KEY = 'k'.repeat(64);
const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const owner: Caller = {
  sub: 'u-1',
  roles: ['owner'],
  subDistrictId: 'sd-a',
  compoundIds: ['c'],
  areaIds: ['a'],
  ownerId: 'o-1',
};
const scope = cursorScope('GET /areas/{areaId}/units', { areaId: 'a' }, { building: '1' }, owner);
const lastKey = { pk: 'UNIT#sd-a#a.1.101', sk: 'UNIT', gsi1pk: 'SD#sd-a#AREA#a#unit', gsi1sk: '1#101' };

const refused = (open: () => unknown) => {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return (error as BadRequestError).extensions.errors as { pointer: string; detail: string }[];
  }
  throw new Error('the cursor was accepted');
};

describe('list cursors', () => {
  it('give back the key they sealed, for the same list and caller', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 20 }).filter((name) => name !== '__proto__'),
          fc.oneof(fc.string(), fc.integer()),
        ),
        (key) => {
          const cursor = sealCursor(scope, key, NOW, KEY) as string;
          expect(openCursor(scope, cursor, NOW + 1000, KEY)).toEqual(key);
        },
      ),
    );
  });

  it('refuse any cursor changed in one character, naming /query/cursor', () => {
    const cursor = sealCursor(scope, lastKey, NOW, KEY) as string;
    fc.assert(
      fc.property(fc.nat(cursor.length - 1), fc.constantFrom('A', 'b', '0', '_', '-', '.'), (at, char) => {
        fc.pre(cursor[at] !== char);
        const changed = `${cursor.slice(0, at)}${char}${cursor.slice(at + 1)}`;
        expect(refused(() => openCursor(scope, changed, NOW, KEY))).toEqual([
          { pointer: '/query/cursor', detail: expect.any(String) },
        ]);
      }),
    );
  });

  it.each([
    ['another route', cursorScope('GET /areas/{areaId}/owners', { areaId: 'a' }, { building: '1' }, owner)],
    ['another area', cursorScope('GET /areas/{areaId}/units', { areaId: 'b' }, { building: '1' }, owner)],
    ['another filter', cursorScope('GET /areas/{areaId}/units', { areaId: 'a' }, { building: '2' }, owner)],
    [
      'another owner',
      cursorScope(
        'GET /areas/{areaId}/units',
        { areaId: 'a' },
        { building: '1' },
        { ...owner, ownerId: 'o-2' },
      ),
    ],
    [
      'another sub-district',
      cursorScope(
        'GET /areas/{areaId}/units',
        { areaId: 'a' },
        { building: '1' },
        { ...owner, subDistrictId: 'sd-b' },
      ),
    ],
    [
      'wider tenancy',
      cursorScope(
        'GET /areas/{areaId}/units',
        { areaId: 'a' },
        { building: '1' },
        { ...owner, areaIds: ['a', 'z'] },
      ),
    ],
  ])('refuse a cursor issued for %s', (_case, other) => {
    const cursor = sealCursor(scope, lastKey, NOW, KEY) as string;
    refused(() => openCursor(other, cursor, NOW, KEY));
  });

  it('refuse a forged cursor such as the raw key base64-encoded, and one sealed with another key', () => {
    refused(() => openCursor(scope, Buffer.from('{"pk":1}').toString('base64url'), NOW, KEY));
    const payload = Buffer.from(JSON.stringify({ k: { pk: 'UNIT#sd-b#x' }, t: NOW })).toString('base64url');
    refused(() => openCursor(scope, `${payload}.AAAA`, NOW, KEY));
    refused(() => openCursor(scope, sealCursor(scope, lastKey, NOW, 'x'.repeat(64)) as string, NOW, KEY));
  });

  it('expire after a day, and are the same for the same caller in any claim order', () => {
    const cursor = sealCursor(scope, lastKey, NOW, KEY) as string;
    expect(openCursor(scope, cursor, NOW + CURSOR_TTL_MS, KEY)).toEqual(lastKey);
    expect(refused(() => openCursor(scope, cursor, NOW + CURSOR_TTL_MS + 1, KEY))?.[0]?.detail).toMatch(
      /expired/,
    );
    const reordered = cursorScope(
      'GET /areas/{areaId}/units',
      { areaId: 'a' },
      { building: '1' },
      { ...owner, roles: ['owner'] },
    );
    expect(reordered).toBe(scope);
    expect(sealCursor(scope, undefined, NOW, KEY)).toBeUndefined();
  });
});
