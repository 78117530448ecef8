/**
 * AWS IoT Core rule SQL (version 2016-03-23) for the local cloud: the subset civic-cell's TopicRules
 * use, evaluated the way the AWS IoT SQL reference documents it. No npm package does this.
 *
 * Supported:
 * - `SELECT *`, `SELECT *, expr AS key, …`, `SELECT expr AS key, …`, `SELECT VALUE expr`;
 *   an unaliased field path `a.b.c` is output under its last segment (`c`), any other unaliased
 *   expression is refused because AWS does not document its key.
 * - field paths `a.b`, array elements `a[0]`; literals: numbers, 'single' or "double" quoted
 *   strings, TRUE, FALSE, NULL (keywords are case-insensitive, field names are not).
 * - `topic()`, `topic(n)` (n an integer literal; a missing segment is Undefined), `clientid()`,
 *   `timestamp()`, `principal()`, `encode(*, 'base64')`, `encode(expr, 'base64')`, `isNull(x)`,
 *   `isUndefined(x)`; function names are case-insensitive.
 * - `FROM '<MQTT topic filter>'`, single-quoted and validated.
 * - `WHERE` with `= <> < <= > >= AND OR NOT + - * / %` and parentheses, typed as values.ts says.
 *
 * Refused at compile time with `UnsupportedSqlError`: every other function (`get_thing_shadow`,
 * `aws_lambda`, `cast`, …), CASE, nested SELECT, SET, JOIN and other clauses, IN/LIKE/BETWEEN, `!=`
 * (AWS has `<>`), `IS NULL` (AWS has `isNull()`), object and array literals, comments, quoted
 * identifiers, string escapes, dotted or duplicate aliases, `topic(expr)`, `-expr`, and SQL versions
 * other than 2016-03-23.
 *
 * Payloads, following iot-sql-json.md ("if the message payload is not in JSON format, `*` returns the
 * entire message payload as raw bytes") and binary-payloads.md:
 * - valid UTF-8 JSON: fields resolve against it; `SELECT *` returns the parsed value.
 * - anything else: `SELECT *` alone returns the payload Buffer unchanged, field references are
 *   Undefined, and `encode(*, 'base64')` and the context functions still work. `SELECT *, …` cannot
 *   merge such a payload (AWS: "you cannot use" it with binary payloads) and throws `PayloadShapeError`
 *   at evaluation, as the rule fails on AWS; the same holds for JSON that is not an object.
 *
 * Choices where AWS documents nothing: `false AND Undefined` is Undefined (the AND/OR tables list
 * no short cut); division or remainder by zero is Undefined; `Null = Null` is true (AWS documents
 * `Null <> Null` as false).
 *
 * Known limits: numbers are doubles, where AWS keeps 34 significant digits: integers beyond 2^53 lose
 * precision, JSON numbers beyond ±1.8e308 become Infinity, and a non-finite result is Undefined.
 * Decimal-to-string conversion uses JavaScript's formatting (`1e-7`) rather than Java's (`1.0E-7`).
 */
import type { RuleAst } from './ast.js';
import { PayloadShapeError, UnsupportedSqlError } from './errors.js';
import { evaluate, Message, type RuleContext } from './evaluator.js';
import { parseRule } from './parser.js';
import { isPlainObject } from './values.js';

export { PayloadShapeError, UnsupportedSqlError } from './errors.js';
export type { RuleContext } from './evaluator.js';
export { InvalidTopicFilterError, topicMatches } from './topic.js';

export interface CompiledRule {
  /** The FROM clause's topic filter, e.g. 'dt/civic/+/+/+'; `evaluate` trusts the caller to route by it. */
  topicFilter: string;
  /**
   * Returns the message the rule's actions receive, or undefined when WHERE is not exactly Boolean
   * true. A plain object for SELECT items, the parsed JSON or the raw Buffer for `SELECT *`, any value
   * for `SELECT VALUE` (an Undefined value becomes '', as AWS serializes Undefined on its own).
   * Undefined items are left out of the object. Throws `PayloadShapeError` only for `SELECT *, …` on a
   * payload that is not a JSON object.
   */
  evaluate(payload: Buffer, ctx: RuleContext): Record<string, unknown> | unknown | undefined;
}

export const DEFAULT_SQL_VERSION = '2016-03-23';

/**
 * 2015-10-08 is refused because it differs inside the subset: it has no `encode()` and keeps `10.0`
 * a Decimal (so `10.0 / 4` is 2.5, not 2), a distinction JSON.parse cannot preserve. `beta` is AWS's
 * moving version that "might introduce breaking changes", so it cannot be promised to match.
 */
const REFUSED_VERSIONS: Readonly<Record<string, string>> = {
  '2015-10-08':
    "SQL version 2015-10-08 is not supported: it lacks encode() and treats whole-number decimals differently; use '2016-03-23'",
  beta: "SQL version 'beta' is not supported: AWS may change it at any time; use '2016-03-23'",
};

/**
 * Compiles rule SQL once; throws `UnsupportedSqlError` for anything outside the subset.
 * `sqlVersion` defaults to 2016-03-23. Note that CloudFormation's AwsIotSqlVersion defaults to
 * 2015-10-08, so a caller reading a template that omits it should pass '2015-10-08' (and be refused)
 * rather than undefined.
 */
export function compileRule(sql: string, opts: { sqlVersion?: string } = {}): CompiledRule {
  const version = opts.sqlVersion ?? DEFAULT_SQL_VERSION;
  if (version !== DEFAULT_SQL_VERSION) {
    const reason = Object.hasOwn(REFUSED_VERSIONS, version)
      ? REFUSED_VERSIONS[version]!
      : `unknown SQL version '${version}'; use '2016-03-23'`;
    throw new UnsupportedSqlError(reason, sql);
  }
  const ast = parseRule(sql);
  return {
    topicFilter: ast.topicFilter,
    evaluate: (payload, ctx) => run(ast, new Message(payload, ctx)),
  };
}

function run(ast: RuleAst, message: Message): unknown {
  if (ast.where !== undefined && evaluate(ast.where, message) !== true) return undefined;

  const { select } = ast;
  if (select.kind === 'value') {
    const value = evaluate(select.expr, message);
    return value === undefined ? '' : value;
  }

  if (select.star && select.items.length === 0) {
    const { payload } = message;
    return payload.kind === 'json' ? payload.value : message.raw;
  }

  let output: Record<string, unknown> = {};
  if (select.star) {
    const { payload } = message;
    if (payload.kind !== 'json' || !isPlainObject(payload.value)) {
      const got = payload.kind === 'json' ? 'JSON that is not an object' : 'a non-JSON payload';
      throw new PayloadShapeError(`SELECT *, … needs a JSON object payload to merge into; got ${got}`);
    }
    output = { ...payload.value };
  }
  for (const { expr, key } of select.items) {
    const value = evaluate(expr, message);
    if (value !== undefined) defineKey(output, key, value);
  }
  return output;
}

/** Defines rather than assigns, so an alias such as `__proto__` becomes an ordinary key. */
function defineKey(output: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(output, key, { value, enumerable: true, writable: true, configurable: true });
}
