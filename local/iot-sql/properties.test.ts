import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRule } from './index.js';
import { baseContext, json, UNDEFINED } from './test-support.js';

/**
 * A model of the WHERE-clause language, generated at random, rendered to SQL text and evaluated
 * two ways: by the compiled rule and by `reference` below, which follows the tables of the AWS IoT
 * SQL reference (iot-sql-operators.md, iot-sql-data-types.md) type tag by type tag.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'arith'; op: '+' | '-' | '*' | '/' | '%'; left: Operand; right: Operand };
type Condition =
  | { kind: 'compare'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: Operand; right: Operand }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition };
type SqlValue = Json | typeof UNDEFINED;

const FIELD_NAMES = ['f0', 'f1', 'f2', 'f3'] as const;

const safeString = fc.string({
  unit: fc.constantFrom('a', 'b', 'Z', '0', '1', '.', '-', 'e', ' '),
  maxLength: 6,
});
const numericString = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((n) => n.toString()),
  fc.constantFrom('1e3', '-2.5E-2', '007', '+1', '.5', '1.', ' 1'),
);
const scalar = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -50, max: 50 }) },
  {
    weight: 2,
    arbitrary: fc
      .double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true })
      .filter((n) => !Object.is(n, -0)),
  },
  { weight: 2, arbitrary: numericString },
  { weight: 1, arbitrary: safeString },
  { weight: 1, arbitrary: fc.constantFrom('true', 'FALSE', 'True') },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 8, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('a', 'b'), scalar, { maxKeys: 2, noNullPrototype: true }),
  },
);
const fieldsOf = (requiredKeys: string[]) =>
  fc.record(Object.fromEntries(FIELD_NAMES.map((n) => [n, jsonValue])), {
    requiredKeys,
    noNullPrototype: true,
  });
/** Top-level fields are always present; fields under `o` (and `o` itself) may be missing, i.e. Undefined. */
const payloadArb = fc
  .record(
    { top: fieldsOf([...FIELD_NAMES]), o: fieldsOf([]) },
    { requiredKeys: ['top'], noNullPrototype: true },
  )
  .map(({ top, o }) => (o === undefined ? top : { ...top, o }) as Record<string, Json>);

const literalValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -50, max: 50 }) },
  {
    weight: 2,
    arbitrary: fc
      .double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true })
      .filter((n) => !Object.is(n, -0)),
  },
  { weight: 2, arbitrary: numericString },
  { weight: 1, arbitrary: safeString },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false') },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const leafOperand: fc.Arbitrary<Operand> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...FIELD_NAMES).map((n): Operand => ({ kind: 'field', path: [n] })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...FIELD_NAMES).map((n): Operand => ({ kind: 'field', path: ['o', n] })),
  },
  { weight: 4, arbitrary: literalValue.map((value): Operand => ({ kind: 'literal', value })) },
);
const operand: fc.Arbitrary<Operand> = fc.oneof(
  { weight: 3, arbitrary: leafOperand },
  {
    weight: 1,
    arbitrary: fc
      .record({ op: fc.constantFrom('+', '-', '*', '/', '%'), left: leafOperand, right: leafOperand })
      .map((a): Operand => ({ kind: 'arith', ...a })),
  },
);
const { condition } = fc.letrec<{ condition: Condition }>((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .record({ op: fc.constantFrom('=', '<>', '<', '<=', '>', '>='), left: operand, right: operand })
      .map((c): Condition => ({ kind: 'compare', ...c })),
    fc
      .record({ kind: fc.constantFrom('and', 'or'), left: tie('condition'), right: tie('condition') })
      .map((c) => c as Condition),
    tie('condition').map((operand): Condition => ({ kind: 'not', operand })),
  ),
}));

function renderLiteral(value: string | number | boolean | null): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'NULL';
  return String(value);
}

function renderOperand(o: Operand): string {
  switch (o.kind) {
    case 'field':
      return o.path.join('.');
    case 'literal':
      return renderLiteral(o.value);
    case 'arith':
      return `(${renderOperand(o.left)} ${o.op} ${renderOperand(o.right)})`;
  }
}

function render(c: Condition): string {
  switch (c.kind) {
    case 'compare':
      return `(${renderOperand(c.left)} ${c.op} ${renderOperand(c.right)})`;
    case 'and':
    case 'or':
      return `(${render(c.left)} ${c.kind.toUpperCase()} ${render(c.right)})`;
    case 'not':
      return `(NOT ${render(c.operand)})`;
  }
}

type Tag = 'Undefined' | 'Null' | 'Boolean' | 'Int' | 'Decimal' | 'String' | 'Array' | 'Object';

function tag(v: SqlValue): Tag {
  if (v === UNDEFINED) return 'Undefined';
  if (v === null) return 'Null';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Int' : 'Decimal';
  if (typeof v === 'string') return 'String';
  return Array.isArray(v) ? 'Array' : 'Object';
}

const isNumber = (t: Tag) => t === 'Int' || t === 'Decimal';

/** Canonical JSON with sorted keys: equal JSON values, and only those, serialize the same. */
function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function asDecimal(v: SqlValue): number | typeof UNDEFINED {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?([Ee]-?[0-9]+)?$/.test(v)) return Number.parseFloat(v);
  return UNDEFINED;
}

function asBoolean(v: SqlValue): boolean | typeof UNDEFINED {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false'].includes(v.toLowerCase())) return v.toLowerCase() === 'true';
  return UNDEFINED;
}

function asString(v: SqlValue): string | typeof UNDEFINED {
  switch (tag(v)) {
    case 'String':
      return v as string;
    case 'Int':
    case 'Decimal':
      return String(v);
    case 'Boolean':
      return v ? 'true' : 'false';
    case 'Array':
    case 'Object':
      return JSON.stringify(v);
    default:
      return UNDEFINED;
  }
}

function referenceOperand(o: Operand, payload: Record<string, Json>): SqlValue {
  if (o.kind === 'literal') return o.value;
  if (o.kind === 'field') {
    let v: SqlValue = payload;
    for (const key of o.path) {
      v =
        tag(v) === 'Object' && Object.hasOwn(v as object, key)
          ? (v as Record<string, Json>)[key]!
          : UNDEFINED;
    }
    return v;
  }
  const l = referenceOperand(o.left, payload);
  const r = referenceOperand(o.right, payload);
  if (o.op === '+') {
    if (tag(l) === 'String' || tag(r) === 'String') {
      const ls = asString(l);
      const rs = asString(r);
      return ls === UNDEFINED || rs === UNDEFINED ? UNDEFINED : ls + rs;
    }
    if (!isNumber(tag(l)) || !isNumber(tag(r))) return UNDEFINED;
  }
  const a = asDecimal(l);
  const b = asDecimal(r);
  if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
  const ints = tag(l) === 'Int' && tag(r) === 'Int';
  let result: number;
  if (o.op === '+') result = a + b;
  else if (o.op === '-') result = a - b;
  else if (o.op === '*') result = a * b;
  else if (b === 0) return UNDEFINED;
  else if (o.op === '/') result = ints ? Math.trunc(a / b) : a / b;
  else result = a % b;
  if (!Number.isFinite(result)) return UNDEFINED;
  return result === 0 ? 0 : result;
}

function reference(c: Condition, payload: Record<string, Json>): SqlValue {
  if (c.kind === 'not') {
    const b = asBoolean(reference(c.operand, payload));
    return b === UNDEFINED ? UNDEFINED : !b;
  }
  if (c.kind !== 'compare') {
    const l = asBoolean(reference(c.left, payload));
    const r = asBoolean(reference(c.right, payload));
    if (l === UNDEFINED || r === UNDEFINED) return UNDEFINED;
    return c.kind === 'and' ? l && r : l || r;
  }
  const l = referenceOperand(c.left, payload);
  const r = referenceOperand(c.right, payload);
  if (c.op === '=' || c.op === '<>') {
    if (l === UNDEFINED || r === UNDEFINED) return UNDEFINED;
    const sameType = tag(l) === tag(r) || (isNumber(tag(l)) && isNumber(tag(r)));
    const equal = sameType && canonical(l) === canonical(r);
    return c.op === '=' ? equal : !equal;
  }
  const a = asDecimal(l);
  const b = asDecimal(r);
  if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
  return { '<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b }[c.op];
}

function evaluateSql(conditionSql: string, payload: Record<string, Json>): SqlValue {
  const output = compileRule(`SELECT ${conditionSql} AS r FROM 'dt/#'`).evaluate(json(payload), baseContext);
  const record = output as Record<string, Json>;
  return Object.hasOwn(record, 'r') ? record.r! : UNDEFINED;
}

function passesWhere(conditionSql: string, payload: Record<string, Json>): boolean {
  return (
    compileRule(`SELECT * FROM 'dt/#' WHERE ${conditionSql}`).evaluate(json(payload), baseContext) !==
    undefined
  );
}

describe('WHERE expressions against a reference model', () => {
  it('evaluates random condition trees exactly as the reference does', () => {
    const outcomes = new Map<SqlValue, number>();
    fc.assert(
      fc.property(condition, payloadArb, (c, payload) => {
        const expected = reference(c, payload);
        outcomes.set(expected, (outcomes.get(expected) ?? 0) + 1);
        expect(evaluateSql(render(c), payload)).toStrictEqual(expected);
      }),
      { numRuns: 1500 },
    );
    for (const outcome of [true, false, UNDEFINED] as const)
      expect(outcomes.get(outcome) ?? 0).toBeGreaterThan(100);
  });

  it('lets a message through exactly when the reference says Boolean true', () => {
    fc.assert(
      fc.property(condition, payloadArb, (c, payload) => {
        expect(passesWhere(render(c), payload)).toBe(reference(c, payload) === true);
      }),
      { numRuns: 1000 },
    );
  });

  it('evaluates random arithmetic exactly as the reference does', () => {
    fc.assert(
      fc.property(operand, payloadArb, (o, payload) => {
        expect(evaluateSql(renderOperand(o), payload)).toStrictEqual(referenceOperand(o, payload));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('logical laws that hold under Undefined', () => {
  it("obeys De Morgan's laws", () => {
    fc.assert(
      fc.property(condition, condition, payloadArb, (a, b, payload) => {
        const [x, y] = [render(a), render(b)];
        expect(evaluateSql(`NOT (${x} AND ${y})`, payload)).toStrictEqual(
          evaluateSql(`(NOT ${x}) OR (NOT ${y})`, payload),
        );
        expect(evaluateSql(`NOT (${x} OR ${y})`, payload)).toStrictEqual(
          evaluateSql(`(NOT ${x}) AND (NOT ${y})`, payload),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('cancels double negation', () => {
    fc.assert(
      fc.property(condition, payloadArb, (a, payload) => {
        expect(evaluateSql(`NOT NOT ${render(a)}`, payload)).toStrictEqual(evaluateSql(render(a), payload));
      }),
      { numRuns: 500 },
    );
  });

  it('makes AND and OR commutative', () => {
    fc.assert(
      fc.property(condition, condition, payloadArb, (a, b, payload) => {
        const [x, y] = [render(a), render(b)];
        expect(evaluateSql(`${x} AND ${y}`, payload)).toStrictEqual(evaluateSql(`${y} AND ${x}`, payload));
        expect(evaluateSql(`${x} OR ${y}`, payload)).toStrictEqual(evaluateSql(`${y} OR ${x}`, payload));
      }),
      { numRuns: 300 },
    );
  });
});

describe('robustness', () => {
  const fixedRules = [
    "SELECT * FROM '#' WHERE a = 1 AND b.c <> 'x' OR NOT (d[0] > 2)",
    "SELECT a, b.c AS bc, a + b AS ab, a * 2 AS a2, a / b AS q, a % b AS r, encode(a, 'base64') AS e FROM '#' WHERE isUndefined(z) OR a >= b",
    "SELECT VALUE a.b[1] FROM '#' WHERE NOT a = NULL",
    "SELECT encode(*, 'base64') AS p, topic(9) AS t, principal() AS pr FROM '#' WHERE a <= '5'",
  ].map((sql) => compileRule(sql));

  it('never throws evaluating WHERE and SELECT items on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        for (const rule of fixedRules) rule.evaluate(Buffer.from(text, 'utf8'), baseContext);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary bytes, and SELECT * hands them back untouched when they are not JSON', () => {
    const passThrough = compileRule("SELECT * FROM '#'");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const payload = Buffer.from(bytes);
        for (const rule of fixedRules) rule.evaluate(payload, baseContext);
        const output = passThrough.evaluate(payload, baseContext);
        if (Buffer.isBuffer(output)) expect(output.equals(payload)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on random condition trees over arbitrary JSON objects', () => {
    fc.assert(
      fc.property(condition, fc.jsonValue(), (c, value) => {
        const payload = { f0: value, f1: value, o: { f2: value } };
        compileRule(`SELECT * FROM '#' WHERE ${render(c)}`).evaluate(json(payload), baseContext);
      }),
      { numRuns: 500 },
    );
  });
});

describe('number literals', () => {
  const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));

  it('read back as the number JavaScript formatted them from', () => {
    fc.assert(
      fc.property(finiteDouble, (n) => {
        const output = compileRule(`SELECT ${String(n)} AS v FROM 'a'`).evaluate(json({}), baseContext);
        expect(output).toStrictEqual({ v: n });
      }),
      { numRuns: 2000 },
    );
  });

  it('compare equal to the same number arriving in the payload', () => {
    fc.assert(
      fc.property(finiteDouble, (n) => {
        expect(passesWhere(`x = ${String(n)}`, { x: n })).toBe(true);
        expect(passesWhere(`x <> ${String(n)}`, { x: n })).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('keep safe integers exact', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(compileRule(`SELECT VALUE ${n} FROM 'a'`).evaluate(json({}), baseContext)).toBe(n);
      }),
    );
  });
});

describe('canonical device rule', () => {
  const rule = compileRule(
    "SELECT encode(*, 'base64') AS payload, topic(3) AS compoundId, topic(4) AS thingName, topic(5) AS signal, clientid() AS clientId, timestamp() AS receivedAt FROM 'dt/civic/+/+/+'",
  );
  const level = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[/+#]/.test(s));

  it('round-trips any payload bytes and reports the topic levels and context', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        level,
        level,
        level,
        fc.string({ maxLength: 20 }),
        fc.nat(),
        (bytes, compound, thing, signal, clientId, timestamp) => {
          const topic = `dt/civic/${compound}/${thing}/${signal}`;
          const output = rule.evaluate(Buffer.from(bytes), { topic, clientId, timestamp }) as Record<
            string,
            unknown
          >;

          expect(Buffer.from(output.payload as string, 'base64')).toEqual(Buffer.from(bytes));
          expect(output).toMatchObject({
            compoundId: compound,
            thingName: thing,
            signal,
            clientId,
            receivedAt: timestamp,
          });
        },
      ),
    );
  });
});
