/**
 * AWS IoT SQL's type rules (developerguide iot-sql-data-types.md and iot-sql-operators.md), on plain
 * JavaScript values: JSON values as `JSON.parse` makes them, `null` for Null and `undefined` for
 * Undefined. SQL version 2016-03-23 treats a whole number such as `10.0` as an Int, so a number is an
 * Int exactly when `Number.isInteger` says so; JSON.parse already erases the difference.
 *
 * Numbers are IEEE doubles, not AWS's 34-digit decimals: a result that is not finite becomes
 * Undefined, and integers beyond 2^53 lose precision (limits are listed in index.ts).
 */

/** The AWS regular expression for strings that convert to Decimal (iot-sql-data-types.md, "To Decimal"). */
const DECIMAL_STRING = /^-?\d+(\.\d+)?([eE]-?\d+)?$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object's own member, or Undefined; never an inherited property such as `toString`. */
export function member(value: unknown, name: string): unknown {
  return isPlainObject(value) && Object.hasOwn(value, name) ? value[name] : undefined;
}

export function element(value: unknown, index: number): unknown {
  return Array.isArray(value) && index >= 0 && index < value.length ? value[index] : undefined;
}

/** "To Boolean": Booleans, and the strings "true"/"false" in any case; everything else is Undefined. */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

/** "To Decimal" for operands of < <= > >= - * / %: numbers, and strings matching AWS's pattern. */
export function toDecimal(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && DECIMAL_STRING.test(value)) return Number(value);
  return undefined;
}

/** "To String": Null and Undefined have no string form; arrays and objects serialize to JSON. */
export function toSqlString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value) >= 1e21 ? BigInt(value).toString() : String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value) || isPlainObject(value)) return JSON.stringify(value);
  return undefined;
}

/**
 * AND and OR follow the documented tables literally: operands must be Booleans or "true"/"false"
 * strings, and any other operand (Undefined included) makes the result Undefined. There is no
 * SQL-style short cut such as `false AND Undefined = false`; AWS documents none.
 */
export function and(left: unknown, right: unknown): boolean | undefined {
  const l = toBoolean(left);
  const r = toBoolean(right);
  return l === undefined || r === undefined ? undefined : l && r;
}

export function or(left: unknown, right: unknown): boolean | undefined {
  const l = toBoolean(left);
  const r = toBoolean(right);
  return l === undefined || r === undefined ? undefined : l || r;
}

export function not(operand: unknown): boolean | undefined {
  const b = toBoolean(operand);
  return b === undefined ? undefined : !b;
}

/**
 * `=`: Undefined on either side gives Undefined; values of different types are simply unequal
 * (no conversion, so `'1' = 1` is false); arrays compare element-wise in order, objects by keys and
 * values regardless of key order. Null = Null is true, consistent with the documented `Null <> Null`
 * being false.
 */
export function equals(left: unknown, right: unknown): boolean | undefined {
  if (left === undefined || right === undefined) return undefined;
  return deepEquals(left, right);
}

export function notEquals(left: unknown, right: unknown): boolean | undefined {
  const eq = equals(left, right);
  return eq === undefined ? undefined : !eq;
}

function deepEquals(left: unknown, right: unknown): boolean {
  if (Array.isArray(left)) {
    return (
      Array.isArray(right) && left.length === right.length && left.every((v, i) => deepEquals(v, right[i]))
    );
  }
  if (isPlainObject(left)) {
    if (!isPlainObject(right)) return false;
    const keys = Object.keys(left);
    return (
      keys.length === Object.keys(right).length &&
      keys.every((k) => Object.hasOwn(right, k) && deepEquals(left[k], right[k]))
    );
  }
  return left === right;
}

export type Ordering = '<' | '<=' | '>' | '>=';

/** `< <= > >=` convert both operands to Decimal; anything that does not convert gives Undefined. */
export function compare(op: Ordering, left: unknown, right: unknown): boolean | undefined {
  const l = toDecimal(left);
  const r = toDecimal(right);
  if (l === undefined || r === undefined) return undefined;
  switch (op) {
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
  }
}

export type Arithmetic = '+' | '-' | '*' | '/' | '%';

/**
 * `+` concatenates as soon as either side is a String (the other side converted "To String", so
 * `'1' + 2` is `'12'`), and otherwise adds numbers. `- * / %` convert numeric strings to Decimal.
 * Int op Int stays Int, so `7 / 2` is 3 (truncated, as integer division does on the JVM); an operand
 * converted from a string is a Decimal, so `'7' / 2` is 3.5. Division or remainder by zero is
 * undocumented; it gives Undefined here.
 */
export function arithmetic(op: Arithmetic, left: unknown, right: unknown): number | string | undefined {
  if (op === '+' && (typeof left === 'string' || typeof right === 'string')) {
    const l = toSqlString(left);
    const r = toSqlString(right);
    return l === undefined || r === undefined ? undefined : l + r;
  }
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  if (op === '+' && !bothNumbers) return undefined;
  const l = toDecimal(left);
  const r = toDecimal(right);
  if (l === undefined || r === undefined) return undefined;
  const intOperands = bothNumbers && Number.isInteger(l) && Number.isInteger(r);
  return finite(apply(op, l, r, intOperands));
}

function apply(op: Arithmetic, l: number, r: number, intOperands: boolean): number | undefined {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      if (r === 0) return undefined;
      return intOperands ? Math.trunc(l / r) : l / r;
    case '%':
      return r === 0 ? undefined : l % r;
  }
}

function finite(value: number | undefined): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return value === 0 ? 0 : value;
}
