import { compileRule, type RuleContext } from './index.js';

/** Stands for AWS's Undefined in test tables, where `undefined` would be ambiguous. */
export const UNDEFINED = Symbol('Undefined');

export const baseContext: RuleContext = Object.freeze({
  topic: 'dt/civic/compound-7/sensor-42/occupancy',
  clientId: 'sensor-42',
  timestamp: 1_700_000_000_123,
});

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * Evaluates one SQL expression against a JSON payload by selecting it under a key, so Undefined
 * (the key left out) is told apart from every real value.
 */
export function evaluateExpression(
  expressionSql: string,
  payload: unknown = {},
  ctx: RuleContext = baseContext,
): unknown {
  const rule = compileRule(`SELECT ${expressionSql} AS r FROM '#'`);
  const output = rule.evaluate(json(payload), ctx) as Record<string, unknown>;
  return Object.hasOwn(output, 'r') ? output.r : UNDEFINED;
}

/** Whether a WHERE clause lets a JSON payload through. */
export function passes(whereSql: string, payload: unknown = {}, ctx: RuleContext = baseContext): boolean {
  return compileRule(`SELECT * FROM '#' WHERE ${whereSql}`).evaluate(json(payload), ctx) !== undefined;
}
