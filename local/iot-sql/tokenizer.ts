import { UnsupportedSqlError } from './errors.js';

export type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'number'; text: string; value: number; pos: number }
  | { kind: 'string'; text: string; value: string; quote: "'" | '"'; pos: number }
  | { kind: 'op'; text: Operator; pos: number }
  | { kind: 'eof'; text: ''; pos: number };

const TWO_CHAR_OPERATORS = ['<>', '<=', '>='] as const;
const ONE_CHAR_OPERATORS = ['=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', '[', ']'] as const;

export type Operator = (typeof TWO_CHAR_OPERATORS)[number] | (typeof ONE_CHAR_OPERATORS)[number];

const isOperator = (text: string, operators: readonly Operator[]): text is Operator =>
  (operators as readonly string[]).includes(text);

/** Characters that mean a construct we know AWS has (or pointedly lacks), so the error can say which. */
const UNSUPPORTED_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['--', 'comments are not supported in AWS IoT SQL'],
  ['/*', 'comments are not supported in AWS IoT SQL'],
  ['!=', "'!=' is not an AWS IoT SQL operator; use '<>'"],
  ['||', "'||' is not an AWS IoT SQL operator; use '+' or concat()"],
  ['${', 'substitution templates belong in rule actions, not in the rule SQL'],
  ['{', 'object literals are not supported by the local evaluator'],
  ['`', 'quoted identifiers are not part of AWS IoT SQL (AWS suggests get() for such keys); not supported'],
  [';', "statement terminators (';') are not part of AWS IoT SQL"],
];

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const WHITESPACE = /[ \t\r\n]/;
const NUMBER = /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/;

/**
 * Splits rule SQL into tokens. Hand-written because the grammar is small and because every character
 * outside it must become an `UnsupportedSqlError` that points at its column.
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const fail = (reason: string, at: number): never => {
    throw new UnsupportedSqlError(reason, sql, at);
  };

  while (pos < sql.length) {
    const ch = sql[pos]!;
    if (WHITESPACE.test(ch)) {
      pos++;
      continue;
    }
    const unsupported = UNSUPPORTED_PREFIXES.find(([prefix]) => sql.startsWith(prefix, pos));
    if (unsupported) fail(unsupported[1], pos);
    const pair = sql.slice(pos, pos + 2);

    if (IDENT_START.test(ch)) {
      const start = pos;
      while (pos < sql.length && IDENT_PART.test(sql[pos]!)) pos++;
      tokens.push({ kind: 'ident', text: sql.slice(start, pos), pos: start });
    } else if (DIGIT.test(ch)) {
      const text = NUMBER.exec(sql.slice(pos))![0];
      const end = pos + text.length;
      if (end < sql.length && (IDENT_PART.test(sql[end]!) || sql[end] === '.')) {
        fail(`malformed number literal starting '${text}${sql[end]}'`, pos);
      }
      const value = Number(text);
      if (!Number.isFinite(value)) fail(`number literal '${text}' is beyond the range of a double`, pos);
      tokens.push({ kind: 'number', text, value, pos });
      pos = end;
    } else if (ch === "'" || ch === '"') {
      const { value, end } = readString(sql, pos, ch, fail);
      tokens.push({ kind: 'string', text: sql.slice(pos, end), value, quote: ch, pos });
      pos = end;
    } else if (isOperator(pair, TWO_CHAR_OPERATORS)) {
      tokens.push({ kind: 'op', text: pair, pos });
      pos += 2;
    } else if (isOperator(ch, ONE_CHAR_OPERATORS)) {
      tokens.push({ kind: 'op', text: ch, pos });
      pos++;
    } else {
      fail(`unexpected character '${ch}'`, pos);
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: sql.length });
  return tokens;
}

/**
 * AWS documents neither escape sequences nor doubled quotes inside IoT SQL string literals, so both
 * are refused instead of guessed: a literal runs to the next matching quote.
 */
function readString(
  sql: string,
  start: number,
  quote: "'" | '"',
  fail: (reason: string, at: number) => never,
): { value: string; end: number } {
  let pos = start + 1;
  while (pos < sql.length && sql[pos] !== quote) {
    if (sql[pos] === '\\') fail('escape sequences in string literals are not supported', pos);
    pos++;
  }
  if (pos >= sql.length) fail('unterminated string literal', start);
  if (sql[pos + 1] === quote) fail('doubled quotes inside string literals are not supported', pos);
  return { value: sql.slice(start + 1, pos), end: pos + 1 };
}
