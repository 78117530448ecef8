/** AST of the AWS IoT SQL subset; `pos` is the 0-based offset of the node's first token. */

export type LiteralValue = string | number | boolean | null;

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';
export type BinaryOperator = 'AND' | 'OR' | ComparisonOperator | ArithmeticOperator;

export type FunctionName =
  | 'topic'
  | 'clientid'
  | 'timestamp'
  | 'principal'
  | 'encode'
  | 'isnull'
  | 'isundefined';

export type Expr =
  | { kind: 'literal'; value: LiteralValue; pos: number }
  | { kind: 'field'; name: string; pos: number }
  | { kind: 'member'; object: Expr; name: string; pos: number }
  | { kind: 'index'; object: Expr; index: number; pos: number }
  | { kind: 'call'; name: FunctionName; args: Argument[]; pos: number }
  | { kind: 'not'; operand: Expr; pos: number }
  | { kind: 'binary'; op: BinaryOperator; left: Expr; right: Expr; pos: number };

/** `*` is an argument only for `encode(*, 'base64')`, where it means the raw payload bytes. */
export type Argument = Expr | { kind: 'star'; pos: number };

export interface SelectItem {
  expr: Expr;
  /** The output key: the alias, or the last segment of an unaliased field path. */
  key: string;
}

export type SelectClause =
  | { kind: 'value'; expr: Expr }
  | { kind: 'items'; star: boolean; items: SelectItem[] };

export interface RuleAst {
  select: SelectClause;
  topicFilter: string;
  where: Expr | undefined;
}
