import type {
  Argument,
  BinaryOperator,
  Expr,
  FunctionName,
  RuleAst,
  SelectClause,
  SelectItem,
} from './ast.js';
import { UnsupportedSqlError } from './errors.js';
import { type Token, tokenize } from './tokenizer.js';
import { topicFilterProblem } from './topic.js';

/** Binding powers for the Pratt loop: higher binds tighter. NOT sits between AND and comparisons. */
const BP = {
  or: 10,
  and: 20,
  not: 30,
  comparison: 40,
  additive: 50,
  multiplicative: 60,
  postfix: 80,
} as const;

const INFIX: Readonly<Record<string, { op: BinaryOperator; bp: number }>> = {
  OR: { op: 'OR', bp: BP.or },
  AND: { op: 'AND', bp: BP.and },
  '=': { op: '=', bp: BP.comparison },
  '<>': { op: '<>', bp: BP.comparison },
  '<': { op: '<', bp: BP.comparison },
  '<=': { op: '<=', bp: BP.comparison },
  '>': { op: '>', bp: BP.comparison },
  '>=': { op: '>=', bp: BP.comparison },
  '+': { op: '+', bp: BP.additive },
  '-': { op: '-', bp: BP.additive },
  '*': { op: '*', bp: BP.multiplicative },
  '/': { op: '/', bp: BP.multiplicative },
  '%': { op: '%', bp: BP.multiplicative },
};

/** Keywords that may follow an expression in SQL but are outside the subset, with what to say. */
const UNSUPPORTED_AFTER_EXPRESSION: Readonly<Record<string, string>> = {
  IS: 'IS NULL / IS UNDEFINED are not AWS IoT SQL operators; use isNull(x) or isUndefined(x)',
  IN: 'the IN operator is not supported by the local evaluator',
  LIKE: 'LIKE is not supported',
  BETWEEN: 'BETWEEN is not supported',
  NOT: 'NOT IN / NOT LIKE / NOT BETWEEN are not supported',
};

/** Keywords that cannot start an expression; each gets its own message. */
const UNSUPPORTED_AT_EXPRESSION_START: Readonly<Record<string, string>> = {
  CASE: 'CASE expressions are not supported by the local evaluator',
  SELECT: 'nested SELECT (nested object queries) is not supported by the local evaluator',
  EXISTS: 'EXISTS is not supported',
  DISTINCT: 'DISTINCT is not part of AWS IoT SQL',
};

/** Words that end an expression or a clause and therefore can never be read as a field name. */
const CLAUSE_KEYWORDS = new Set(['FROM', 'WHERE', 'AS', 'AND', 'OR']);

const TRAILING_CLAUSES: Readonly<Record<string, string>> = {
  JOIN: 'JOIN is not part of AWS IoT SQL',
  INNER: 'JOIN is not part of AWS IoT SQL',
  LEFT: 'JOIN is not part of AWS IoT SQL',
  GROUP: 'GROUP BY is not part of AWS IoT SQL',
  ORDER: 'ORDER BY is not part of AWS IoT SQL',
  HAVING: 'HAVING is not part of AWS IoT SQL',
  LIMIT: 'LIMIT is not part of AWS IoT SQL',
  UNION: 'UNION is not part of AWS IoT SQL',
};

interface FunctionSpec {
  minArgs: number;
  maxArgs: number;
  /** Index of the argument that may be `*`. */
  starArg?: number;
  check?: (args: Argument[], fail: (reason: string, at: number) => never) => void;
}

const FUNCTIONS: Readonly<Record<FunctionName, FunctionSpec>> = {
  topic: {
    minArgs: 0,
    maxArgs: 1,
    check: (args, fail) => {
      const [n] = args;
      if (n !== undefined && !(n.kind === 'literal' && Number.isInteger(n.value))) {
        fail('topic(n) is supported only with an integer literal n', n.pos);
      }
    },
  },
  clientid: { minArgs: 0, maxArgs: 0 },
  timestamp: { minArgs: 0, maxArgs: 0 },
  principal: { minArgs: 0, maxArgs: 0 },
  encode: {
    minArgs: 2,
    maxArgs: 2,
    starArg: 0,
    check: (args, fail) => {
      const scheme = args[1]!;
      if (!(scheme.kind === 'literal' && scheme.value === 'base64')) {
        fail("encode() supports only the literal encoding scheme 'base64'", scheme.pos);
      }
    },
  },
  isnull: { minArgs: 1, maxArgs: 1 },
  isundefined: { minArgs: 1, maxArgs: 1 },
};

const SUPPORTED_FUNCTIONS =
  "topic(), topic(n), clientid(), timestamp(), principal(), encode(x, 'base64'), isNull(x), isUndefined(x)";

function isFunctionName(name: string): name is FunctionName {
  return Object.hasOwn(FUNCTIONS, name);
}

/**
 * Parses rule SQL (`SELECT … FROM '<filter>' [WHERE …]`) into an AST, rejecting everything outside
 * the subset with an `UnsupportedSqlError` that points at the offending token.
 */
export function parseRule(sql: string): RuleAst {
  return new Parser(sql).parseRule();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly sql: string) {
    this.tokens = tokenize(sql);
  }

  parseRule(): RuleAst {
    if (this.isKeyword('SET')) {
      this.fail('the SET clause (variables) is not supported by the local evaluator');
    }
    this.expectKeyword('SELECT');
    const select = this.parseSelectClause();
    this.expectKeyword('FROM');
    const topicFilter = this.parseTopicFilter();
    let where: Expr | undefined;
    if (this.isKeyword('WHERE')) {
      this.next();
      where = this.parseExpression(0);
    }
    this.expectEnd();
    return { select, topicFilter, where };
  }

  private parseSelectClause(): SelectClause {
    if (this.isKeyword('VALUE') && this.peek(1).text === '*' && isKeywordToken(this.peek(2), 'FROM')) {
      this.fail('SELECT VALUE * is not supported; use SELECT *', this.peek(1).pos);
    }
    if (this.isKeyword('VALUE') && this.startsValueExpression()) {
      this.next();
      const expr = this.parseExpression(0);
      if (this.isKeyword('AS')) this.fail('SELECT VALUE takes no AS alias');
      if (this.isOp(',')) this.fail('SELECT VALUE takes exactly one expression');
      return { kind: 'value', expr };
    }

    let star = false;
    const items: SelectItem[] = [];
    const keys = new Set<string>();
    do {
      if (this.isOp('*')) {
        if (star || items.length > 0) this.fail("'*' is supported only as the first SELECT item");
        this.next();
        if (this.isKeyword('AS')) this.fail('an alias for * is not supported');
        star = true;
        continue;
      }
      const item = this.parseSelectItem();
      if (keys.has(item.key)) this.fail(`duplicate output key '${item.key}'`, item.keyPos);
      keys.add(item.key);
      items.push({ expr: item.expr, key: item.key });
    } while (this.isOp(',') && this.next());

    if (!this.isKeyword('FROM')) this.unexpected('expected , or FROM after a SELECT item');
    return { kind: 'items', star, items };
  }

  private parseSelectItem(): { expr: Expr; key: string; keyPos: number } {
    const expr = this.parseExpression(0);
    if (this.isKeyword('AS')) {
      this.next();
      const alias = this.peek();
      if (alias.kind !== 'ident') this.unexpected('expected an identifier after AS');
      this.next();
      if (this.isOp('.')) this.fail('dotted aliases (AS a.b) are not supported');
      return { expr, key: alias.text, keyPos: alias.pos };
    }
    const key = pathKey(expr);
    if (key === undefined) {
      this.fail(
        'this SELECT item needs an AS alias (only a field path ending in a name gets a key of its own)',
        expr.pos,
      );
    }
    return { expr, key, keyPos: expr.pos };
  }

  private parseTopicFilter(): string {
    const token = this.peek();
    if (token.kind !== 'string' || token.quote !== "'") {
      this.fail("the FROM clause must be a single-quoted topic filter, e.g. FROM 'a/+/b'");
    }
    const problem = topicFilterProblem(token.value);
    if (problem !== undefined) this.fail(problem);
    this.next();
    return token.value;
  }

  private parseExpression(minBp: number): Expr {
    let left = this.parsePrefix();
    for (;;) {
      const token = this.peek();
      if (token.kind === 'op' && (token.text === '.' || token.text === '[')) {
        left = this.parsePostfix(left);
        continue;
      }
      const key =
        token.kind === 'ident' ? token.text.toUpperCase() : token.kind === 'op' ? token.text : undefined;
      const infix = key === undefined ? undefined : INFIX[key];
      if (infix === undefined) {
        if (token.kind === 'ident' && Object.hasOwn(UNSUPPORTED_AFTER_EXPRESSION, key!)) {
          this.fail(UNSUPPORTED_AFTER_EXPRESSION[key!]!);
        }
        return left;
      }
      if (infix.bp <= minBp) return left;
      this.next();
      const right = this.parseExpression(infix.bp);
      left = { kind: 'binary', op: infix.op, left, right, pos: left.pos };
    }
  }

  private parsePrefix(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'number':
        this.next();
        return { kind: 'literal', value: token.value, pos: token.pos };
      case 'string':
        this.next();
        return { kind: 'literal', value: token.value, pos: token.pos };
      case 'ident':
        return this.parseWord(token);
      case 'op':
        return this.parseOperatorPrefix(token);
      case 'eof':
        return this.unexpected('expected an expression');
    }
  }

  private parseWord(token: Token & { kind: 'ident' }): Expr {
    const upper = token.text.toUpperCase();
    if (upper === 'TRUE' || upper === 'FALSE') {
      this.next();
      return { kind: 'literal', value: upper === 'TRUE', pos: token.pos };
    }
    if (upper === 'NULL') {
      this.next();
      return { kind: 'literal', value: null, pos: token.pos };
    }
    if (upper === 'NOT') {
      this.next();
      return { kind: 'not', operand: this.parseExpression(BP.not), pos: token.pos };
    }
    if (Object.hasOwn(UNSUPPORTED_AT_EXPRESSION_START, upper)) {
      this.fail(UNSUPPORTED_AT_EXPRESSION_START[upper]!);
    }
    if (CLAUSE_KEYWORDS.has(upper)) this.unexpected('expected an expression');
    this.next();
    if (this.isOp('(')) return this.parseCall(token);
    return { kind: 'field', name: token.text, pos: token.pos };
  }

  private parseOperatorPrefix(token: Token & { kind: 'op' }): Expr {
    if (token.text === '(') {
      this.next();
      if (this.isKeyword('SELECT')) this.fail(UNSUPPORTED_AT_EXPRESSION_START.SELECT!);
      const inner = this.parseExpression(0);
      this.expectOp(')');
      return inner;
    }
    if (token.text === '-') {
      const number = this.peek(1);
      if (number.kind !== 'number') {
        this.fail('unary minus is supported only directly before a number literal');
      }
      this.next();
      this.next();
      return { kind: 'literal', value: -number.value, pos: token.pos };
    }
    if (token.text === '*') this.fail("'*' is allowed only as a SELECT item or as encode()'s first argument");
    if (token.text === '[') this.fail('array literals are not supported by the local evaluator');
    return this.unexpected('expected an expression');
  }

  private parsePostfix(object: Expr): Expr {
    const token = this.next();
    if (token.text === '.') {
      const name = this.peek();
      if (name.kind !== 'ident') {
        this.unexpected(
          'expected a field name after "." (keys that are not identifiers need get(), which is not supported)',
        );
      }
      this.next();
      return { kind: 'member', object, name: name.text, pos: object.pos };
    }
    const index = this.peek();
    if (index.kind !== 'number' || !Number.isSafeInteger(index.value)) {
      this.fail('an array index must be a non-negative integer literal');
    }
    this.next();
    this.expectOp(']');
    return { kind: 'index', object, index: index.value, pos: object.pos };
  }

  private parseCall(nameToken: Token & { kind: 'ident' }): Expr {
    const name = nameToken.text.toLowerCase();
    if (!isFunctionName(name)) {
      this.fail(
        `function ${nameToken.text}() is not supported by the local evaluator (supported: ${SUPPORTED_FUNCTIONS})`,
        nameToken.pos,
      );
    }
    const spec = FUNCTIONS[name];
    this.expectOp('(');
    const args: Argument[] = [];
    if (!this.isOp(')')) {
      do {
        const at = this.peek();
        if (at.kind === 'op' && at.text === '*' && spec.starArg === args.length) {
          this.next();
          args.push({ kind: 'star', pos: at.pos });
        } else {
          args.push(this.parseExpression(0));
        }
      } while (this.isOp(',') && this.next());
    }
    this.expectOp(')');
    if (args.length < spec.minArgs || args.length > spec.maxArgs) {
      const expected =
        spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
      this.fail(`${nameToken.text}() takes ${expected} argument(s), got ${args.length}`, nameToken.pos);
    }
    spec.check?.(args, (reason, at) => this.fail(reason, at));
    return { kind: 'call', name, args, pos: nameToken.pos };
  }

  /**
   * `VALUE` is a keyword only when an expression follows it, so a payload field called `value` still
   * works in `SELECT value FROM …` or `SELECT value + 1 AS v FROM …`. `SELECT VALUE -1 FROM …` is
   * VALUE mode, since the field reading (`value - 1` without an alias) would be refused anyway.
   */
  private startsValueExpression(): boolean {
    const token = this.peek(1);
    if (token.kind === 'number' || token.kind === 'string') return true;
    if (token.kind === 'op') {
      if (token.text === '(') return true;
      return token.text === '-' && this.peek(2).kind === 'number' && isKeywordToken(this.peek(3), 'FROM');
    }
    return token.kind === 'ident' && !CLAUSE_KEYWORDS.has(token.text.toUpperCase());
  }

  private expectEnd(): void {
    const token = this.peek();
    if (token.kind === 'eof') return;
    const upper = token.text.toUpperCase();
    if (token.kind === 'ident' && Object.hasOwn(TRAILING_CLAUSES, upper)) this.fail(TRAILING_CLAUSES[upper]!);
    this.unexpected('expected the end of the rule');
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  /** Consumes and returns the current token; truthy, so it can end a `do … while (… && next())`. */
  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  private isKeyword(word: string): boolean {
    return isKeywordToken(this.peek(), word);
  }

  private isOp(op: string): boolean {
    const token = this.peek();
    return token.kind === 'op' && token.text === op;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) this.unexpected(`expected ${word}`);
    this.next();
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) this.unexpected(`expected '${op}'`);
    this.next();
  }

  private unexpected(expectation: string): never {
    const token = this.peek();
    const found = token.kind === 'eof' ? 'the end of the rule' : `'${token.text}'`;
    return this.fail(`${expectation}, found ${found}`);
  }

  private fail(reason: string, at: number = this.peek().pos): never {
    throw new UnsupportedSqlError(reason, this.sql, at);
  }
}

/**
 * AWS names the output of an unaliased `a.b.c` after its last segment (`c`); a path ending in an
 * index (`a[0]`) and any other expression need AS, since AWS does not document their keys.
 */
function pathKey(expr: Expr): string | undefined {
  if (expr.kind === 'field') return expr.name;
  if (expr.kind === 'member' && isPath(expr.object)) return expr.name;
  return undefined;
}

function isPath(expr: Expr): boolean {
  if (expr.kind === 'field') return true;
  return (expr.kind === 'member' || expr.kind === 'index') && isPath(expr.object);
}

function isKeywordToken(token: Token, word: string): boolean {
  return token.kind === 'ident' && token.text.toUpperCase() === word;
}
