import { describe, expect, it } from 'vitest';
import { compileRule, UnsupportedSqlError } from './index.js';

function compileError(sql: string, opts?: { sqlVersion?: string }): UnsupportedSqlError {
  try {
    compileRule(sql, opts);
  } catch (error) {
    if (error instanceof UnsupportedSqlError) return error;
    throw error;
  }
  throw new Error(`expected compileRule to reject: ${sql}`);
}

/** [rule SQL, words the message must contain, the text the error must point at (its first occurrence)] */
const cases: ReadonlyArray<readonly [string, string, string]> = [
  ["SELECT CASE WHEN a > 1 THEN 'hi' ELSE 'lo' END AS level FROM 'a'", 'CASE expressions', 'CASE'],
  ["SELECT (SELECT VALUE n FROM e) AS sensors FROM 'a'", 'nested SELECT', 'SELECT VALUE'],
  ["SELECT * FROM 'a' WHERE (SELECT v FROM e) = 1", 'nested SELECT', 'SELECT v'],
  [
    "SELECT * FROM 'a' WHERE get_thing_shadow('t', 'arn:aws:iam::1:role/r').state.reported.alarm = 'ON'",
    'function get_thing_shadow()',
    'get_thing_shadow',
  ],
  [
    "SELECT aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *) AS output FROM 'a'",
    'function aws_lambda()',
    'aws_lambda',
  ],
  ["SELECT get_dynamodb('t', 'k', id, 'arn') AS loc FROM 'a'", 'function get_dynamodb()', 'get_dynamodb'],
  ["SELECT cast(a AS Int) AS n FROM 'a'", 'function cast()', 'cast'],
  ["SELECT upper(color) AS c FROM 'a'", 'function upper()', 'upper'],
  ["SELECT newuuid() AS id FROM 'a'", 'function newuuid()', 'newuuid'],
  ["SELECT toString() AS s FROM 'a'", 'function toString()', 'toString'],
  ["SELECT * FROM 'a' JOIN 'b'", 'JOIN is not part of AWS IoT SQL', 'JOIN'],
  ["SELECT * FROM 'a' WHERE x = 1 GROUP BY x", 'GROUP BY', 'GROUP'],
  ["SELECT * FROM 'a' ORDER BY x", 'ORDER BY', 'ORDER'],
  ["SELECT * FROM 'a' WHERE x IN (1, 2)", 'IN operator', 'IN'],
  ["SELECT * FROM 'a' WHERE x NOT IN (1, 2)", 'NOT IN', 'NOT'],
  ["SELECT * FROM 'a' WHERE x LIKE 'a%'", 'LIKE', 'LIKE'],
  ["SELECT * FROM 'a' WHERE x BETWEEN 1 AND 2", 'BETWEEN', 'BETWEEN'],
  ["SELECT * FROM 'a' WHERE x IS NULL", 'use isNull(x) or isUndefined(x)', 'IS'],
  ["SELECT * FROM 'a' WHERE x IS NOT NULL", 'use isNull(x) or isUndefined(x)', 'IS'],
  ["SELECT * FROM 'a' WHERE x IS UNDEFINED", 'use isNull(x) or isUndefined(x)', 'IS'],
  ["SELECT * FROM 'a' WHERE x != 1", "use '<>'", '!='],
  ["SELECT a || b AS c FROM 'a'", "'||' is not an AWS IoT SQL operator", '||'],
  ["SELECT * FROM 'a' -- all of it", 'comments are not supported', '--'],
  ["SELECT * /* all */ FROM 'a'", 'comments are not supported', '/*'],
  ["SELECT `my-key` AS k FROM 'a'", 'quoted identifiers', '`'],
  ["SELECT {'lat': 1} AS pos FROM 'a'", 'object literals', '{'],
  ["SELECT [lat, long] AS pos FROM 'a'", 'array literals', '['],
  ["SELECT * FROM 'a';", 'statement terminators', ';'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the rule SQL under test holds a substitution template
  ["SELECT ${topic()} AS t FROM 'a'", 'substitution templates', '$'],
  ["SET x = 1 SELECT * FROM 'a'", 'the SET clause', 'SET'],
  ["SELECT 'it\\'s' AS s FROM 'a'", 'escape sequences', '\\'],
  ["SELECT 'it''s' AS s FROM 'a'", 'doubled quotes', "''"],
  ["SELECT 'never closed FROM a", 'unterminated string literal', "'never"],
  ['SELECT * FROM a/b', 'single-quoted topic filter', 'a/b'],
  ['SELECT * FROM "a/b"', 'single-quoted topic filter', '"a/b"'],
  ["SELECT * FROM 'a/#/b'", "'#' must be the whole last level", "'a/#/b'"],
  ["SELECT * FROM 'a/b#'", "'#' must be the whole last level", "'a/b#'"],
  ["SELECT * FROM 'a/b+/c'", "'+' must occupy a whole topic level", "'a/b+/c'"],
  ["SELECT * FROM ''", 'the topic filter is empty', "''"],
  ['SELECT *', 'expected , or FROM', ''],
  ["SELECT * WHERE a = 1 FROM 'a'", 'expected , or FROM', 'WHERE'],
  ["SELECT FROM 'a'", 'expected an expression', 'FROM'],
  ['', 'expected SELECT', ''],
  ["SELECT a FROM 'a' extra", 'expected the end of the rule', 'extra'],
  ["SELECT a b FROM 'a'", 'expected , or FROM', 'b '],
  ["SELECT topic(3) FROM 'a'", 'needs an AS alias', 'topic'],
  ["SELECT 15 FROM 'a'", 'needs an AS alias', '15'],
  ["SELECT a[0] FROM 'a'", 'needs an AS alias', 'a[0]'],
  ["SELECT a + 1 FROM 'a'", 'needs an AS alias', 'a + 1'],
  ["SELECT foo.bar AS bar.baz FROM 'a'", 'dotted aliases', '.baz'],
  ["SELECT a AS x, b AS x FROM 'a'", "duplicate output key 'x'", 'x FROM'],
  ["SELECT a.x, b.x FROM 'a'", "duplicate output key 'x'", 'b.x'],
  ["SELECT a AS 'quoted' FROM 'a'", 'expected an identifier after AS', "'quoted'"],
  ["SELECT a, * FROM 'a'", "'*' is supported only as the first SELECT item", '*'],
  ["SELECT *, * FROM 'a'", "'*' is supported only as the first SELECT item", '* FROM'],
  ["SELECT * AS payload FROM 'a'", 'an alias for * is not supported', 'AS'],
  ["SELECT VALUE * FROM 'a'", 'SELECT VALUE * is not supported', '*'],
  ["SELECT VALUE color AS c FROM 'a'", 'SELECT VALUE takes no AS alias', 'AS'],
  ["SELECT VALUE color, size FROM 'a'", 'exactly one expression', ','],
  ["SELECT topic(n) AS t FROM 'a'", 'integer literal', 'n)'],
  ["SELECT topic(1.5) AS t FROM 'a'", 'integer literal', '1.5'],
  ["SELECT topic('1') AS t FROM 'a'", 'integer literal', "'1'"],
  ["SELECT topic(1, 2) AS t FROM 'a'", 'topic() takes 0 to 1 argument(s), got 2', 'topic'],
  ["SELECT clientid(1) AS c FROM 'a'", 'clientid() takes 0 argument(s), got 1', 'clientid'],
  ["SELECT encode(*) AS p FROM 'a'", 'encode() takes 2 argument(s), got 1', 'encode'],
  ["SELECT encode(*, 'hex') AS p FROM 'a'", "only the literal encoding scheme 'base64'", "'hex'"],
  ["SELECT encode(*, scheme) AS p FROM 'a'", "only the literal encoding scheme 'base64'", 'scheme'],
  [
    "SELECT encode(a, *) AS p FROM 'a'",
    "'*' is allowed only as a SELECT item or as encode()'s first argument",
    '*',
  ],
  ["SELECT isNull(*) AS p FROM 'a'", "'*' is allowed only", '*'],
  ["SELECT * FROM 'a' WHERE * = 1", "'*' is allowed only", '* ='],
  ["SELECT -a AS n FROM 'a'", 'unary minus', '-'],
  ["SELECT a[-1] AS n FROM 'a'", 'non-negative integer literal', '-'],
  ["SELECT a[i] AS n FROM 'a'", 'non-negative integer literal', 'i]'],
  ["SELECT a[1.5] AS n FROM 'a'", 'non-negative integer literal', '1.5'],
  ["SELECT mydata.item2.0 AS n FROM 'a'", 'expected a field name after "."', '0'],
  ["SELECT 1abc AS n FROM 'a'", 'malformed number literal', '1abc'],
  ["SELECT 1. AS n FROM 'a'", 'malformed number literal', '1.'],
  ["SELECT 1e400 AS n FROM 'a'", 'beyond the range of a double', '1e400'],
  ["SELECT température AS t FROM 'a'", "unexpected character 'é'", 'é'],
  ["SELECT a FROM 'a' WHERE (a = 1", "expected ')'", ''],
  ["SELECT a FROM 'a' WHERE a =", 'expected an expression, found the end of the rule', ''],
  ["SELECT a FROM 'a' WHERE a = AND b", "expected an expression, found 'AND'", 'AND'],
  ["SELECT DISTINCT a FROM 'a'", 'DISTINCT', 'DISTINCT'],
];

describe('compileRule rejects SQL outside the subset', () => {
  it.each(cases)('%s', (sql, reason, marker) => {
    const error = compileError(sql);

    const at = marker === '' ? sql.length : sql.indexOf(marker);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(error.message).toContain(reason);
    expect(error.reason).toContain(reason);
    expect(error.sql).toBe(sql);
    expect(error.column).toBe(at + 1);
    expect(error.message).toContain(`column ${at + 1}`);
  });

  it('accepts what only looks like a template inside a string literal', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the rule SQL under test holds a substitution template
    expect(() => compileRule("SELECT '${topic()}' AS t FROM 'a'")).not.toThrow();
  });

  it('shows the SQL with a caret under the offending token', () => {
    const error = compileError("SELECT * FROM 'a' WHERE x IS NULL");

    expect(error.message).toBe(
      [
        'Unsupported IoT rule SQL at column 27: IS NULL / IS UNDEFINED are not AWS IoT SQL operators; use isNull(x) or isUndefined(x)',
        "  SELECT * FROM 'a' WHERE x IS NULL",
        '                            ^',
      ].join('\n'),
    );
  });

  it('names the line and column in multi-line SQL', () => {
    const error = compileError("SELECT\n  a AS a,\n  CASE WHEN b THEN 1 END AS c\nFROM 'x'");

    expect(error.line).toBe(3);
    expect(error.column).toBe(3);
    expect(error.message).toContain('line 3, column 3: CASE expressions');
    expect(error.message).toContain('\n    CASE WHEN b THEN 1 END AS c\n    ^');
  });

  it('shows a window of a long rule around the problem', () => {
    const padding = Array.from({ length: 30 }, (_, i) => `f${i} AS k${i}`).join(', ');
    const sql = `SELECT ${padding}, nope() AS n FROM 'a'`;

    const error = compileError(sql);

    const [, snippet, caret] = error.message.split('\n');
    expect(snippet).toContain('nope() AS n');
    expect(snippet!.length).toBeLessThan(90);
    expect(snippet![caret!.length - 1]).toBe('n');
    expect(error.column).toBe(sql.indexOf('nope') + 1);
  });

  it('is an Error with its own name', () => {
    const error = compileError("SELECT CASE FROM 'a'");

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('UnsupportedSqlError');
  });
});

describe('SQL versions', () => {
  const sql = "SELECT * FROM 'a'";

  it.each([[undefined], ['2016-03-23']])('accepts %s', (sqlVersion) => {
    expect(compileRule(sql, { sqlVersion }).topicFilter).toBe('a');
  });

  it.each([
    ['2015-10-08', 'lacks encode()'],
    ['beta', 'AWS may change it'],
    ['2099-01-01', "unknown SQL version '2099-01-01'"],
  ])('refuses %s, quoting the rule', (sqlVersion, reason) => {
    const error = compileError(sql, { sqlVersion });

    expect(error.message).toContain(reason);
    expect(error.message).toContain(sql);
    expect(error.column).toBeUndefined();
  });
});
