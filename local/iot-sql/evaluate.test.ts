import { describe, expect, it } from 'vitest';
import { compileRule, PayloadShapeError } from './index.js';
import { baseContext, evaluateExpression, json, passes, UNDEFINED } from './test-support.js';

const CANONICAL_RULE =
  "SELECT encode(*, 'base64') AS payload, topic(3) AS compoundId, topic(4) AS thingName, topic(5) AS signal, clientid() AS clientId, timestamp() AS receivedAt FROM 'dt/civic/+/+/+'";

const fixture = Object.freeze({
  n: 5,
  d: 2.5,
  s: 'abc',
  num: '10',
  t: true,
  z: null,
  arr: [1, 'two', { three: 3 }],
  arr2: [1, 'two', { three: 3 }],
  arr3: ['two', 1, { three: 3 }],
  obj: { a: 1, b: [true, null] },
  obj2: { b: [true, null], a: 1 },
  obj3: { a: 1 },
  color: { red: 255, green: 0 },
  deep: { a: { b: { c: 'deep' } } },
  empty: '',
  toStringy: {},
});

describe('canonical device rule', () => {
  const ctx = { ...baseContext, topic: 'dt/civic/compound-7/sensor-42/occupancy' };

  it.each([
    ['a JSON object', json({ occupied: true, at: 1 })],
    ['a JSON array', json([1, 2, 3])],
    ['non-JSON text', Buffer.from('occupied=1;battery=87', 'utf8')],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7f])],
    ['an empty payload', Buffer.alloc(0)],
  ])('delivers %s base64-encoded with topic levels and context', (_name, payload) => {
    const rule = compileRule(CANONICAL_RULE);

    const output = rule.evaluate(payload, ctx);

    expect(rule.topicFilter).toBe('dt/civic/+/+/+');
    expect(output).toStrictEqual({
      payload: payload.toString('base64'),
      compoundId: 'compound-7',
      thingName: 'sensor-42',
      signal: 'occupancy',
      clientId: 'sensor-42',
      receivedAt: 1_700_000_000_123,
    });
    expect(Buffer.from((output as { payload: string }).payload, 'base64').equals(payload)).toBe(true);
  });

  it('keeps the keys in SELECT order', () => {
    const output = compileRule(CANONICAL_RULE).evaluate(json({}), ctx) as object;

    expect(Object.keys(output)).toEqual([
      'payload',
      'compoundId',
      'thingName',
      'signal',
      'clientId',
      'receivedAt',
    ]);
  });

  it('leaves out topic levels that the topic does not have', () => {
    const output = compileRule(CANONICAL_RULE).evaluate(json({}), { ...ctx, topic: 'dt/civic/only-three' });

    expect(output).not.toHaveProperty('thingName');
    expect(output).not.toHaveProperty('signal');
    expect(output).toMatchObject({ compoundId: 'only-three' });
  });
});

describe('SELECT output shapes', () => {
  const color = json({ color: 'red', temperature: 50 });

  it.each([
    ["SELECT * FROM 'a'", color, { color: 'red', temperature: 50 }],
    ["SELECT color FROM 'a'", color, { color: 'red' }],
    ["SELECT color AS my_color FROM 'a'", color, { my_color: 'red' }],
    [
      "SELECT color as my_color, temperature as fahrenheit FROM 'a'",
      color,
      { my_color: 'red', fahrenheit: 50 },
    ],
    ["SELECT *, 15 as speed FROM 'a'", color, { color: 'red', temperature: 50, speed: 15 }],
    ["SELECT *, 'blue' AS color FROM 'a'", color, { color: 'blue', temperature: 50 }],
    ["SELECT *, missing AS m FROM 'a'", color, { color: 'red', temperature: 50 }],
    ["SELECT color, missing, nested.other FROM 'a'", color, { color: 'red' }],
    ["SELECT color.red AS red_value FROM 'a'", json({ color: { red: 255 } }), { red_value: 255 }],
    ["SELECT color.red FROM 'a'", json({ color: { red: 255 } }), { red: 255 }],
    ["SELECT (temperature - 32) * 5 / 9 AS celsius FROM 'a'", color, { celsius: 10 }],
    ["SELECT NULL AS n, TRUE AS t, 'x' AS s, 1.5 AS d FROM 'a'", color, { n: null, t: true, s: 'x', d: 1.5 }],
    ["SELECT a[1] AS second, a[9] AS none FROM 'a'", json({ a: [10, 20] }), { second: 20 }],
    [
      "SELECT timestamp, value FROM 'a'",
      json({ timestamp: 'payload-ts', value: 3 }),
      { timestamp: 'payload-ts', value: 3 },
    ],
    ["SELECT __proto__ AS p, constructor AS c FROM 'a'", json({}), {}],
  ])('%s', (sql, payload, expected) => {
    expect(compileRule(sql).evaluate(payload, baseContext)).toStrictEqual(expected);
  });

  it('keeps payload keys first, then added items, for SELECT *, …', () => {
    const output = compileRule("SELECT *, 15 AS speed FROM 'a'").evaluate(color, baseContext) as object;

    expect(Object.keys(output)).toEqual(['color', 'temperature', 'speed']);
  });

  it('writes an output key named __proto__ as a plain property', () => {
    const output = compileRule("SELECT 1 AS __proto__ FROM 'a'").evaluate(color, baseContext) as object;

    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(output, '__proto__')?.value).toBe(1);
  });

  it.each([
    ['a string', json({ color: 'red' }), 'red'],
    ['an array', json({ color: ['r', 'g'] }), ['r', 'g']],
    ['Null', json({ color: null }), null],
    ['Undefined, which serializes to an empty string', json({}), ''],
  ])('SELECT VALUE returns %s as it is', (_name, payload, expected) => {
    expect(compileRule("SELECT VALUE color FROM 'a'").evaluate(payload, baseContext)).toStrictEqual(expected);
  });
});

describe('payloads that are not a JSON object', () => {
  it.each([
    ['a JSON array', json([1, 2]), [1, 2]],
    ['a JSON string', json('hi'), 'hi'],
    ['a JSON number', json(42), 42],
    ['JSON null', json(null), null],
  ])('SELECT * passes %s through as parsed JSON', (_name, payload, expected) => {
    expect(compileRule("SELECT * FROM 'a'").evaluate(payload, baseContext)).toStrictEqual(expected);
  });

  it.each([
    ['text', Buffer.from('hello world')],
    ['truncated JSON', Buffer.from('{"a":')],
    ['invalid UTF-8', Buffer.from([0xc3, 0x28])],
    ['nothing', Buffer.alloc(0)],
  ])('SELECT * passes %s through as the raw Buffer', (_name, payload) => {
    const output = compileRule("SELECT * FROM 'a'").evaluate(payload, baseContext);

    expect(Buffer.isBuffer(output)).toBe(true);
    expect((output as Buffer).equals(payload)).toBe(true);
  });

  it('resolves field references to Undefined and still runs functions on a binary payload', () => {
    const rule = compileRule(
      "SELECT a AS a, a.b AS b, encode(*, 'base64') AS raw, topic(1) AS t FROM 'dt/#'",
    );

    expect(rule.evaluate(Buffer.from([1, 2, 3]), baseContext)).toStrictEqual({ raw: 'AQID', t: 'dt' });
  });

  it('does not let a binary payload through a WHERE on its fields', () => {
    const rule = compileRule("SELECT * FROM 'a' WHERE device_type = 'thermostat'");

    expect(rule.evaluate(Buffer.from('device_type=thermostat'), baseContext)).toBeUndefined();
  });

  it('lets a binary payload through a WHERE on context functions', () => {
    const rule = compileRule("SELECT * FROM 'a' WHERE timestamp() % 2 = 1");

    expect(rule.evaluate(Buffer.from([9]), baseContext)).toEqual(Buffer.from([9]));
  });

  it.each([
    ['a non-JSON payload', Buffer.from('raw')],
    ['a JSON array', json([1])],
  ])('refuses to merge %s into SELECT *, …', (_name, payload) => {
    const rule = compileRule("SELECT *, timestamp() AS ts FROM 'a'");

    expect(() => rule.evaluate(payload, baseContext)).toThrow(PayloadShapeError);
  });

  it('does not complain about the shape when WHERE already filtered the message out', () => {
    const rule = compileRule("SELECT *, timestamp() AS ts FROM 'a' WHERE FALSE");

    expect(rule.evaluate(Buffer.from('raw'), baseContext)).toBeUndefined();
  });
});

describe('operators', () => {
  it.each([
    ['n = 5', true],
    ['d = 2.5', true],
    ['n = 5.0', true],
    ['num = 10', false],
    ["s = 'abc'", true],
    ["s = 'ABC'", false],
    ["t = 'true'", false],
    ['t = TRUE', true],
    ['z = NULL', true],
    ['z = 0', false],
    ['arr = arr2', true],
    ['arr = arr3', false],
    ['obj = obj2', true],
    ['obj = obj3', false],
    ['obj3 = obj', false],
    ['arr = obj', false],
    ['missing = 1', UNDEFINED],
    ['1 = missing', UNDEFINED],
    ['missing = missing', UNDEFINED],
    ['n <> 5', false],
    ['n <> 6', true],
    ['num <> 10', true],
    ['z <> NULL', false],
    ['arr <> arr3', true],
    ['missing <> 1', UNDEFINED],
  ])('equality: %s', (expression, expected) => {
    expect(evaluateExpression(expression, fixture)).toStrictEqual(expected);
  });

  it.each([
    ['n > 4', true],
    ['n >= 5', true],
    ['n < 5', false],
    ['d <= 2.5', true],
    ['num > 9', true],
    ["num < '9'", false],
    ["'1e3' > 999", true],
    ["'1E-2' < 1", true],
    ["'-1.5' < 0", true],
    ["'+1' < 2", UNDEFINED],
    ["'.5' < 1", UNDEFINED],
    ["' 1' < 2", UNDEFINED],
    ["'a' < 'b'", UNDEFINED],
    ['t > 0', UNDEFINED],
    ['z < 1', UNDEFINED],
    ['arr > 1', UNDEFINED],
    ['missing > 1', UNDEFINED],
  ])('ordering: %s', (expression, expected) => {
    expect(evaluateExpression(expression, fixture)).toStrictEqual(expected);
  });

  it.each([
    ['TRUE AND TRUE', true],
    ['TRUE AND FALSE', false],
    ["t AND 'TRUE'", true],
    ["'false' OR false", false],
    ["'False' OR TRUE", true],
    ['NOT FALSE', true],
    ["NOT 'tRuE'", false],
    ['NOT 1', UNDEFINED],
    ['NOT NULL', UNDEFINED],
    ['NOT missing', UNDEFINED],
    ["'yes' AND TRUE", UNDEFINED],
    ['TRUE AND missing', UNDEFINED],
    ['FALSE AND missing', UNDEFINED],
    ['TRUE OR missing', UNDEFINED],
    ['1 OR TRUE', UNDEFINED],
  ])('logic: %s', (expression, expected) => {
    expect(evaluateExpression(expression, fixture)).toStrictEqual(expected);
  });

  it.each([
    ['7 / 2', 3],
    ['-7 / 2', -3],
    ['7.5 / 2', 3.75],
    ["'7' / 2", 3.5],
    ['7 % 3', 1],
    ['-7 % 3', -1],
    ['7.5 % 2', 1.5],
    ['1 / 0', UNDEFINED],
    ['1 % 0', UNDEFINED],
    ['2 * 3.5', 7],
    ['n * d', 12.5],
    ["'3' - 1", 2],
    ["'a' - 1", UNDEFINED],
    ['t - 1', UNDEFINED],
    ['1 + 2', 3],
    ['1.5 + 1.5', 3],
    ["'1' + 2", '12'],
    ["1 + '2'", '12'],
    ["'a' + TRUE", 'atrue'],
    ['s + obj3', 'abc{"a":1}'],
    ['s + arr', 'abc[1,"two",{"three":3}]'],
    ["'n' + 1e21", 'n1000000000000000000000'],
    ["'x' + NULL", UNDEFINED],
    ["'x' + missing", UNDEFINED],
    ['1 + TRUE', UNDEFINED],
    ['1 + NULL', UNDEFINED],
    ['1e308 * 10', UNDEFINED],
    ['0 * -1', 0],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 2 - 3', 5],
    ['12 / 2 / 3', 2],
  ])('arithmetic: %s', (expression, expected) => {
    expect(evaluateExpression(expression, fixture)).toStrictEqual(expected);
  });
});

describe('field paths', () => {
  it.each([
    ['deep.a.b.c', 'deep'],
    ['color.red', 255],
    ['arr[0]', 1],
    ['arr[2].three', 3],
    ['arr[3]', UNDEFINED],
    ['obj.b[1]', null],
    ['s.length', UNDEFINED],
    ['obj[0]', UNDEFINED],
    ['n.x', UNDEFINED],
    ['missing.x.y', UNDEFINED],
    ['toStringy.toString', UNDEFINED],
    ['hasOwnProperty', UNDEFINED],
    ['empty', ''],
    ['z', null],
  ])('%s', (path, expected) => {
    expect(evaluateExpression(path, fixture)).toStrictEqual(expected);
  });
});

describe('functions', () => {
  const ctx = { topic: 'things/myThings/thingOne', clientId: 'client-1', timestamp: 1481825251155 };

  it.each([
    ['topic()', 'things/myThings/thingOne'],
    ['topic(1)', 'things'],
    ['topic(3)', 'thingOne'],
    ['topic(4)', UNDEFINED],
    ['topic(0)', UNDEFINED],
    ['topic(-1)', UNDEFINED],
    ['clientid()', 'client-1'],
    ['timestamp()', 1481825251155],
    ['principal()', UNDEFINED],
    ["encode('héllo', 'base64')", Buffer.from('héllo').toString('base64')],
    ["encode(n, 'base64')", Buffer.from('5').toString('base64')],
    ["encode(obj3, 'base64')", Buffer.from('{"a":1}').toString('base64')],
    ["encode(t, 'base64')", Buffer.from('true').toString('base64')],
    ["encode(z, 'base64')", UNDEFINED],
    ["encode(missing, 'base64')", UNDEFINED],
    ['isNull(z)', true],
    ['isNull(missing)', false],
    ['isNull(n)', false],
    ['isUndefined(missing)', true],
    ['isUndefined(z)', false],
    ['NOT isUndefined(n)', true],
  ])('%s', (expression, expected) => {
    expect(evaluateExpression(expression, fixture, ctx)).toStrictEqual(expected);
  });

  it('returns the principal when the broker supplies one', () => {
    expect(evaluateExpression('principal()', {}, { ...ctx, principal: 'ba67293af50b' })).toBe('ba67293af50b');
  });

  it("encodes the payload's own bytes, not a re-serialization, for encode(*, 'base64')", () => {
    const payload = Buffer.from('{ "b" : 1,\n "a": 2 }');

    const output = compileRule("SELECT encode(*, 'base64') AS p FROM 'a'").evaluate(payload, ctx);

    expect(output).toStrictEqual({ p: payload.toString('base64') });
  });
});

describe('WHERE', () => {
  it.each([
    ['TRUE', true],
    ['FALSE', false],
    ["'true'", false],
    ['1', false],
    ['NULL', false],
    ['missing', false],
    ['n = 5', true],
    ["n = 5 AND s = 'abc'", true],
    ["n = 6 OR s = 'abc'", true],
    ['NOT (n = 6)', true],
    ['n = 6 OR missing = 1', false],
    ["topic(3) = 'sensor-42'", false],
    ["topic(4) = 'sensor-42'", true],
    ["clientid() = 'sensor-42' AND timestamp() > 0", true],
  ])('WHERE %s passes: %s', (condition, expected) => {
    expect(passes(condition, fixture)).toBe(expected);
  });

  it('returns the selected message when WHERE is true and undefined otherwise', () => {
    const rule = compileRule("SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50");

    expect(rule.evaluate(json({ color: 'red', temperature: 100 }), baseContext)).toStrictEqual({
      rgb: 'red',
    });
    expect(rule.evaluate(json({ color: 'red', temperature: 10 }), baseContext)).toBeUndefined();
  });
});
