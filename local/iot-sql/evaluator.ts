import type { Argument, Expr } from './ast.js';
import {
  and,
  arithmetic,
  compare,
  element,
  equals,
  member,
  not,
  notEquals,
  or,
  toSqlString,
} from './values.js';

export interface RuleContext {
  /** The topic the message was published on (for Basic Ingest, without the `$aws/rules/<rule>` prefix). */
  topic: string;
  clientId: string;
  /** Milliseconds since the Unix epoch, as `timestamp()` returns it. */
  timestamp: number;
  principal?: string;
}

export type Payload = { kind: 'json'; value: unknown } | { kind: 'binary' };

/** What one evaluation sees: the raw bytes, the payload parsed at most once, and the context. */
export class Message {
  private parsed: Payload | undefined;

  constructor(
    readonly raw: Buffer,
    readonly ctx: RuleContext,
  ) {}

  /**
   * The payload is JSON when it is valid UTF-8 whose text `JSON.parse` accepts; anything else (an
   * empty payload included) is binary, for which AWS's `*` means the raw bytes (iot-sql-json.md).
   */
  get payload(): Payload {
    if (this.parsed === undefined) this.parsed = parsePayload(this.raw);
    return this.parsed;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parsePayload(raw: Buffer): Payload {
  try {
    return { kind: 'json', value: JSON.parse(utf8.decode(raw)) };
  } catch {
    return { kind: 'binary' };
  }
}

/** Evaluates an expression to a SQL value; `undefined` is AWS's Undefined. Never throws. */
export function evaluate(expr: Expr, message: Message): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'field': {
      const payload = message.payload;
      return payload.kind === 'json' ? member(payload.value, expr.name) : undefined;
    }
    case 'member':
      return member(evaluate(expr.object, message), expr.name);
    case 'index':
      return element(evaluate(expr.object, message), expr.index);
    case 'not':
      return not(evaluate(expr.operand, message));
    case 'call':
      return call(expr, message);
    case 'binary':
      return binary(expr, message);
  }
}

function binary(expr: Expr & { kind: 'binary' }, message: Message): unknown {
  const left = evaluate(expr.left, message);
  const right = evaluate(expr.right, message);
  switch (expr.op) {
    case 'AND':
      return and(left, right);
    case 'OR':
      return or(left, right);
    case '=':
      return equals(left, right);
    case '<>':
      return notEquals(left, right);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(expr.op, left, right);
    default:
      return arithmetic(expr.op, left, right);
  }
}

function call(expr: Expr & { kind: 'call' }, message: Message): unknown {
  const { ctx } = message;
  switch (expr.name) {
    case 'topic':
      return topicSegment(ctx.topic, expr.args[0]);
    case 'clientid':
      return ctx.clientId;
    case 'timestamp':
      return ctx.timestamp;
    case 'principal':
      return ctx.principal;
    case 'encode':
      return encodeBase64(expr.args[0]!, message);
    case 'isnull':
      return evaluateArgument(expr.args[0], message) === null;
    case 'isundefined':
      return evaluateArgument(expr.args[0], message) === undefined;
  }
}

function evaluateArgument(argument: Argument | undefined, message: Message): unknown {
  return argument === undefined || argument.kind === 'star' ? undefined : evaluate(argument, message);
}

/** `topic(n)` is 1-based (topic(1) of `foo/bar` is `foo`); a segment that does not exist is Undefined. */
function topicSegment(topic: string, index: Argument | undefined): string | undefined {
  if (index === undefined) return topic;
  const n = index.kind === 'literal' ? index.value : undefined;
  if (typeof n !== 'number') return undefined;
  const levels = topic.split('/');
  return n >= 1 && n <= levels.length ? levels[n - 1] : undefined;
}

/**
 * `encode(*, 'base64')` encodes the raw payload bytes whether or not they are JSON; any other
 * argument is converted "To String" first (iot-sql-functions.md, encode), so Null and Undefined give
 * Undefined.
 */
function encodeBase64(argument: Argument, message: Message): string | undefined {
  if (argument.kind === 'star') return message.raw.toString('base64');
  const text = toSqlString(evaluate(argument, message));
  return text === undefined ? undefined : Buffer.from(text, 'utf8').toString('base64');
}
