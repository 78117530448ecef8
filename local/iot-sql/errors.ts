/**
 * Thrown by `compileRule` when rule SQL falls outside the subset the local cloud evaluates, or is not
 * valid SQL at all. The local cloud refuses to start on it rather than evaluate a rule differently
 * from AWS, so the message names the construct, where it is, and shows the SQL around it.
 */
export class UnsupportedSqlError extends Error {
  override readonly name = 'UnsupportedSqlError';
  /** 1-based line of the offending token, when there is one. */
  readonly line: number | undefined;
  /** 1-based column (within `line`) of the offending token, when there is one. */
  readonly column: number | undefined;

  constructor(
    readonly reason: string,
    readonly sql: string,
    readonly position?: number,
  ) {
    const where = position === undefined ? undefined : locate(sql, position);
    super(formatMessage(reason, sql, where));
    this.line = where?.line;
    this.column = where?.column;
  }
}

/**
 * Thrown by `CompiledRule.evaluate` when a rule merges `*` with other SELECT items (`SELECT *, x AS y`)
 * and the payload is not a JSON object. AWS documents that such a rule cannot be used with a binary
 * payload (binary-payloads.html, rule 2); on AWS the rule fails and its error action runs, so the
 * local cloud surfaces a failure too instead of inventing a message.
 */
export class PayloadShapeError extends Error {
  override readonly name = 'PayloadShapeError';
}

interface Location {
  line: number;
  column: number;
  lineText: string;
}

const SNIPPET_WIDTH = 72;

function locate(sql: string, position: number): Location {
  const before = sql.slice(0, position);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = sql.indexOf('\n', lineStart);
  const lineText = sql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).replace(/\r$/, '');
  return { line, column: position - lineStart + 1, lineText };
}

function formatMessage(reason: string, sql: string, where: Location | undefined): string {
  if (where === undefined) {
    const flat = sql.replace(/\s+/g, ' ').trim();
    const shown = flat.length > SNIPPET_WIDTH ? `${flat.slice(0, SNIPPET_WIDTH - 1)}…` : flat;
    return `Unsupported IoT rule SQL: ${reason}\n  ${shown}`;
  }
  const place = where.line === 1 ? `column ${where.column}` : `line ${where.line}, column ${where.column}`;
  const start = Math.max(
    0,
    Math.min(where.column - 1 - SNIPPET_WIDTH / 2, where.lineText.length - SNIPPET_WIDTH),
  );
  const prefix = start > 0 ? '…' : '';
  const window = where.lineText.slice(start, start + SNIPPET_WIDTH);
  const suffix = start + SNIPPET_WIDTH < where.lineText.length ? '…' : '';
  const caret = ' '.repeat(prefix.length + where.column - 1 - start);
  return `Unsupported IoT rule SQL at ${place}: ${reason}\n  ${prefix}${window}${suffix}\n  ${caret}^`;
}
