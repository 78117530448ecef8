import { describe, expect, it } from 'vitest';
import type { Expr } from './ast.js';
import { parseRule } from './parser.js';

const where = (condition: string): Expr | undefined =>
  parseRule(`SELECT * FROM 'a/b' WHERE ${condition}`).where;

const field = (name: string) => ({ kind: 'field', name });
const lit = (value: unknown) => ({ kind: 'literal', value });
const bin = (op: string, left: unknown, right: unknown) => ({ kind: 'binary', op, left, right });

describe('parseRule: SELECT clause', () => {
  it.each([
    ["SELECT * FROM 'a'", { kind: 'items', star: true, items: [] }],
    ["select * from 'a'", { kind: 'items', star: true, items: [] }],
    [
      "SELECT *, 15 AS speed FROM 'a'",
      { kind: 'items', star: true, items: [{ key: 'speed', expr: lit(15) }] },
    ],
    ["SELECT color FROM 'a'", { items: [{ key: 'color', expr: field('color') }] }],
    [
      "SELECT color.red FROM 'a'",
      { items: [{ key: 'red', expr: { kind: 'member', object: field('color'), name: 'red' } }] },
    ],
    ["SELECT a.b.c FROM 'a'", { items: [{ key: 'c' }] }],
    [
      "SELECT color as my_color, temperature AS fahrenheit FROM 'a'",
      { items: [{ key: 'my_color' }, { key: 'fahrenheit' }] },
    ],
    [
      "SELECT a[0] AS first FROM 'a'",
      { items: [{ key: 'first', expr: { kind: 'index', object: field('a'), index: 0 } }] },
    ],
    [
      "SELECT a[2].b FROM 'a'",
      { items: [{ key: 'b', expr: { kind: 'member', object: { kind: 'index', index: 2 } } }] },
    ],
    ["SELECT timestamp FROM 'a'", { items: [{ key: 'timestamp', expr: field('timestamp') }] }],
    ["SELECT value FROM 'a'", { kind: 'items', items: [{ key: 'value', expr: field('value') }] }],
    ["SELECT value AS v FROM 'a'", { kind: 'items', items: [{ key: 'v', expr: field('value') }] }],
    ["SELECT value.x FROM 'a'", { kind: 'items', items: [{ key: 'x' }] }],
    [
      "SELECT value + 1 AS v FROM 'a'",
      { kind: 'items', items: [{ key: 'v', expr: bin('+', field('value'), lit(1)) }] },
    ],
    ["SELECT VALUE color FROM 'a'", { kind: 'value', expr: field('color') }],
    ["SELECT value (1 + 2) FROM 'a'", { kind: 'value', expr: bin('+', lit(1), lit(2)) }],
    ["SELECT VALUE 'x' FROM 'a'", { kind: 'value', expr: lit('x') }],
    ["SELECT VALUE -1 FROM 'a'", { kind: 'value', expr: lit(-1) }],
    [
      "SELECT value - 1 AS v FROM 'a'",
      { kind: 'items', items: [{ key: 'v', expr: bin('-', field('value'), lit(1)) }] },
    ],
    [
      "SELECT encode(*, 'base64') AS p FROM 'a'",
      {
        items: [
          { key: 'p', expr: { kind: 'call', name: 'encode', args: [{ kind: 'star' }, lit('base64')] } },
        ],
      },
    ],
    ['SELECT encode(*, "base64") AS p FROM \'a\'', { items: [{ expr: { kind: 'call', name: 'encode' } }] }],
    [
      "SELECT TOPIC(3) AS t, ClientId() AS c, isNull(x) AS n, isUndefined(x) AS u FROM 'a'",
      {
        items: [
          { expr: { kind: 'call', name: 'topic', args: [lit(3)] } },
          { expr: { kind: 'call', name: 'clientid', args: [] } },
          { expr: { kind: 'call', name: 'isnull' } },
          { expr: { kind: 'call', name: 'isundefined' } },
        ],
      },
    ],
    [
      "SELECT topic() AS t, topic(-1) AS u, timestamp() AS ts, principal() AS p FROM 'a'",
      {
        items: [
          { expr: { args: [] } },
          { expr: { args: [lit(-1)] } },
          { expr: { name: 'timestamp' } },
          { expr: { name: 'principal' } },
        ],
      },
    ],
  ])('%s', (sql, expected) => {
    expect(parseRule(sql).select).toMatchObject(expected);
  });

  it('keeps the FROM topic filter verbatim and leaves WHERE undefined when absent', () => {
    const ast = parseRule("SELECT * FROM 'dt/civic/+/+/#'");

    expect(ast.topicFilter).toBe('dt/civic/+/+/#');
    expect(ast.where).toBeUndefined();
  });

  it('accepts rule SQL spread over several lines, as templates often hold it', () => {
    const ast = parseRule(
      "SELECT\n  topic(3) AS compoundId,\n  clientid() AS clientId\nFROM\n  'dt/civic/+/+/+'\nWHERE\n  a > 1\n",
    );

    expect(ast.select).toMatchObject({ items: [{ key: 'compoundId' }, { key: 'clientId' }] });
    expect(ast.where).toMatchObject(bin('>', field('a'), lit(1)));
  });
});

describe('parseRule: expressions and precedence', () => {
  it.each([
    ['a OR b AND c', bin('OR', field('a'), bin('AND', field('b'), field('c')))],
    ['a AND b OR c', bin('OR', bin('AND', field('a'), field('b')), field('c'))],
    ['a or b and c', bin('OR', field('a'), bin('AND', field('b'), field('c')))],
    ['NOT a = b', { kind: 'not', operand: bin('=', field('a'), field('b')) }],
    ['NOT a AND b', bin('AND', { kind: 'not', operand: field('a') }, field('b'))],
    ['NOT NOT a', { kind: 'not', operand: { kind: 'not', operand: field('a') } }],
    ['a = 1 AND b <> 2', bin('AND', bin('=', field('a'), lit(1)), bin('<>', field('b'), lit(2)))],
    ['a + b * c > 3', bin('>', bin('+', field('a'), bin('*', field('b'), field('c'))), lit(3))],
    ['(a + b) * c', bin('*', bin('+', field('a'), field('b')), field('c'))],
    ['a - b - c', bin('-', bin('-', field('a'), field('b')), field('c'))],
    ['a / b % c', bin('%', bin('/', field('a'), field('b')), field('c'))],
    ['a <= -5', bin('<=', field('a'), lit(-5))],
    ['a >= - 2.5', bin('>=', field('a'), lit(-2.5))],
    ['a - -1', bin('-', field('a'), lit(-1))],
    ['a < 1.5e3', bin('<', field('a'), lit(1500))],
    ['a < 2E-2', bin('<', field('a'), lit(0.02))],
    ['a < 1e+21', bin('<', field('a'), lit(1e21))],
    ["a = 'it is'", bin('=', field('a'), lit('it is'))],
    ['a = "double"', bin('=', field('a'), lit('double'))],
    ["a = ''", bin('=', field('a'), lit(''))],
    ['a = TRUE', bin('=', field('a'), lit(true))],
    ['a = false', bin('=', field('a'), lit(false))],
    ['a = Null', bin('=', field('a'), lit(null))],
    [
      'a.b[1].c = 1',
      bin(
        '=',
        {
          kind: 'member',
          name: 'c',
          object: { kind: 'index', index: 1, object: { kind: 'member', name: 'b' } },
        },
        lit(1),
      ),
    ],
    ['((a))', field('a')],
  ])('%s', (condition, expected) => {
    expect(where(condition)).toMatchObject(expected);
  });

  it('records the 0-based offset of each node for error reporting', () => {
    expect(where('a = b')).toMatchObject({ pos: 26, left: { pos: 26 }, right: { pos: 30 } });
  });
});
