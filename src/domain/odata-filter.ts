/**
 * The subset of OData `$filter` that Azure Resource Manager / Azure Backup list operations use:
 *
 *   backupManagementType eq 'AzureWorkload' and workloadType eq 'SQLDataBase'
 *   startTime ge '2024-01-01 10:00:00 PM' and endTime le '2024-01-02 10:00:00 PM'
 *
 * Grammar (keywords and operators are matched case-insensitively, whitespace between tokens is free):
 *
 *   filter      := <blank> | conjunction <end>
 *   conjunction := primary ( 'and' primary )*
 *   primary     := '(' conjunction ')' | comparison
 *   comparison  := identifier operator value
 *   operator    := 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'
 *   value       := string | integer | 'true' | 'false'
 *   string      := "'" ( any character except "'" | "''" )* "'"     ('' is an escaped quote)
 *
 * `or`, `not`, functions (`contains(…)`), `in`, `has`, arithmetic and bare dates are out of scope and are
 * rejected with a FilterSyntaxError naming the token and its 0-based position in the (URL-decoded) filter.
 *
 * Why hand-written: `odata-v4-parser` / `@odata/parser` (its fork) parse these filters, but their only error is
 * "Unexpected character at N" with N often pointing at the start of the whole expression, they reject `Eq`, and they
 * accept `or`/`not`/functions, which would need an AST walk on top; @odata/parser also pulls ~10 MB of runtime
 * dependencies. This file is smaller than the wrapper would be.
 *
 * Pure logic: no I/O.
 */

export type FilterOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export interface FilterClause {
  /** The property name as written in the filter (binding is case-insensitive). */
  key: string;
  op: FilterOperator;
  /** Quoted values are strings (unescaped, so `'True'` stays the string "True"); bare integers are numbers; bare true/false are booleans. */
  value: string | number | boolean;
}

export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
  /** 0-based offset in the filter text; -1 when unknown (a clause that parseFilter did not produce). */
  readonly position: number;
  /** The offending token as written ('' for the end of the filter). */
  readonly token: string;

  constructor(message: string, position: number, token: string) {
    super(message);
    this.position = position;
    this.token = token;
  }
}

const OPERATORS: readonly FilterOperator[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const OPERATOR_LIST = OPERATORS.join(', ');

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizer

type TokenKind =
  | 'word' // identifier-shaped: property names, keywords, operators, true/false
  | 'string' // '…' (value holds the unescaped text)
  | 'number' // bare integer
  | 'lparen'
  | 'rparen'
  | 'other' // anything else (e.g. '=', '1.5', 'a/b'); always a syntax error, reported with context by the parser
  | 'end';

interface Token {
  kind: TokenKind;
  /** The token exactly as written. */
  text: string;
  position: number;
  /** For 'string': the unescaped content. */
  value?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INTEGER = /^-?\d+$/;
const WHITESPACE = /\s/;

/** Quotes a token for an error message: 'or', or "'b" when the token itself contains a single quote. */
function quote(token: string): string {
  return token.includes("'") ? `"${token}"` : `'${token}'`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (WHITESPACE.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'lparen' : 'rparen', text: ch, position: i });
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) {
          const token = text.slice(start);
          throw new FilterSyntaxError(
            `Invalid $filter: unterminated string ${quote(token)} at position ${start}; expected a closing quote`,
            start,
            token,
          );
        }
        const c = text.charAt(i);
        if (c === "'") {
          if (text.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), position: start, value });
    } else {
      // A "word" runs to the next whitespace, parenthesis or quote; it is then classified.
      const start = i;
      while (i < text.length && !/[\s()']/.test(text.charAt(i))) i++;
      const word = text.slice(start, i);
      const kind: TokenKind = IDENTIFIER.test(word)
        ? 'word'
        : INTEGER.test(word) && Number.isSafeInteger(Number(word))
          ? 'number'
          : 'other';
      tokens.push({ kind, text: word, position: start });
    }
  }
  tokens.push({ kind: 'end', text: '', position: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------------
// Parser

/** Where parseFilter found each clause, so that bindFilter's errors can carry a position without changing the clause shape. */
const clausePositions = new WeakMap<FilterClause, number>();

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toLowerCase() === keyword;
}

function unexpected(token: Token, expected: string): FilterSyntaxError {
  const what = token.kind === 'end' ? 'unexpected end of filter' : `unexpected token ${quote(token.text)}`;
  return new FilterSyntaxError(
    `Invalid $filter: ${what} at position ${token.position}; expected ${expected}`,
    token.position,
    token.text,
  );
}

class Parser {
  private index = 0;
  private readonly clauses: FilterClause[] = [];
  private readonly tokens: readonly Token[];

  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }

  parse(): FilterClause[] {
    this.conjunction();
    const next = this.peek();
    if (next.kind !== 'end') throw unexpected(next, "'and'");
    return this.clauses;
  }

  private peek(): Token {
    // tokenize() always ends with an 'end' token and the parser never advances past it.
    return this.tokens[this.index] as Token;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index++;
    return token;
  }

  /** conjunction := primary ('and' primary)*; stops at the first token that is not 'and' and leaves it to the caller. */
  private conjunction(): void {
    this.primary();
    while (isKeyword(this.peek(), 'and')) {
      this.advance();
      this.primary();
    }
  }

  /** primary := '(' conjunction ')' | comparison */
  private primary(): void {
    if (this.peek().kind === 'lparen') {
      this.advance();
      this.conjunction();
      const close = this.advance();
      if (close.kind !== 'rparen') throw unexpected(close, "'and' or ')'");
      return;
    }
    this.comparison();
  }

  private comparison(): void {
    const keyToken = this.advance();
    if (keyToken.kind !== 'word' || isKeyword(keyToken, 'and')) throw unexpected(keyToken, 'a property name');
    const lowered = keyToken.text.toLowerCase();
    if (lowered === 'not' || lowered === 'or') {
      throw new FilterSyntaxError(
        `Invalid $filter: unsupported operator ${quote(keyToken.text)} at position ${keyToken.position}; only comparisons joined by 'and' are supported`,
        keyToken.position,
        keyToken.text,
      );
    }
    if (this.peek().kind === 'lparen') {
      throw new FilterSyntaxError(
        `Invalid $filter: unsupported function ${quote(keyToken.text)} at position ${keyToken.position}; only comparisons joined by 'and' are supported`,
        keyToken.position,
        keyToken.text,
      );
    }

    const opToken = this.advance();
    const op = opToken.kind === 'word' ? OPERATORS.find((o) => o === opToken.text.toLowerCase()) : undefined;
    if (op === undefined) throw unexpected(opToken, `an operator (${OPERATOR_LIST})`);

    const valueToken = this.advance();
    let value: string | number | boolean;
    if (valueToken.kind === 'string') {
      value = valueToken.value ?? '';
    } else if (valueToken.kind === 'number') {
      value = Number(valueToken.text);
    } else if (isKeyword(valueToken, 'true') || isKeyword(valueToken, 'false')) {
      value = valueToken.text.toLowerCase() === 'true';
    } else {
      throw unexpected(valueToken, "a value (a 'quoted string', an integer, true or false)");
    }

    const clause: FilterClause = { key: keyToken.text, op, value };
    clausePositions.set(clause, keyToken.position);
    this.clauses.push(clause);
  }
}

/**
 * Parses a $filter; throws FilterSyntaxError whose message names the offending token and its position, e.g.
 * "Invalid $filter: unexpected token 'or' at position 34; expected 'and'". An empty/blank filter returns [].
 * Positions are 0-based offsets into `text` (the URL-decoded filter).
 */
export function parseFilter(text: string): FilterClause[] {
  if (text.trim() === '') return [];
  return new Parser(tokenize(text)).parse();
}

// ---------------------------------------------------------------------------------------------------------------------
// Binding

const LOWER_BOUNDS: ReadonlySet<FilterOperator> = new Set(['gt', 'ge']);
const UPPER_BOUNDS: ReadonlySet<FilterOperator> = new Set(['lt', 'le']);

/**
 * Checks the clauses against the keys an operation supports (case-insensitive) and the operators allowed per key;
 * returns a map keyed by the canonical key spelling (clauses in filter order, `key` still as written).
 * Throws FilterSyntaxError("Invalid $filter: unsupported property 'foo'; supported: a, b") for unknown keys or
 * disallowed operators. Per key: `eq` must be its only clause, and there is at most one lower bound (gt/ge) and one
 * upper bound (lt/le), so `startTime ge '…' and startTime le '…'` (a range) is fine; `ne` may repeat.
 */
export function bindFilter<K extends string>(
  clauses: FilterClause[],
  spec: Record<K, readonly FilterOperator[]>,
): Partial<Record<K, FilterClause[]>> {
  const canonicalKeys = Object.keys(spec) as K[];
  const byLowerCase = new Map<string, K>(canonicalKeys.map((k) => [k.toLowerCase(), k]));
  const result: Partial<Record<K, FilterClause[]>> = {};

  for (const clause of clauses) {
    const position = clausePositions.get(clause) ?? -1;
    const key = byLowerCase.get(clause.key.toLowerCase());
    if (key === undefined) {
      throw new FilterSyntaxError(
        `Invalid $filter: unsupported property ${quote(clause.key)}; supported: ${canonicalKeys.join(', ')}`,
        position,
        clause.key,
      );
    }
    const allowed = spec[key];
    if (!allowed.includes(clause.op)) {
      throw new FilterSyntaxError(
        `Invalid $filter: unsupported operator '${clause.op}' for property '${key}'; supported: ${allowed.join(', ')}`,
        position,
        clause.op,
      );
    }

    const previous = result[key] ?? [];
    const conflict =
      clause.op === 'eq' || previous.some((p) => p.op === 'eq')
        ? "'eq' cannot be combined with another condition on the same property"
        : LOWER_BOUNDS.has(clause.op) && previous.some((p) => LOWER_BOUNDS.has(p.op))
          ? 'it has more than one lower bound (gt/ge)'
          : UPPER_BOUNDS.has(clause.op) && previous.some((p) => UPPER_BOUNDS.has(p.op))
            ? 'it has more than one upper bound (lt/le)'
            : undefined;
    if (previous.length > 0 && conflict !== undefined) {
      throw new FilterSyntaxError(`Invalid $filter: property '${key}' is repeated; ${conflict}`, position, clause.key);
    }
    result[key] = [...previous, clause];
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------------
// Dates

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;
const AZURE_12_HOUR = /^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2}):(\d{2}) ([AaPp][Mm])$/;
const AZURE_24_HOUR = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Builds a UTC date from calendar fields, or null when a field is out of range (month 13, 30 February, minute 60…). */
function utcDate(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): Date | null {
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 19xx
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : null;
}

/**
 * Parses a filter date value: ISO 8601 (`2024-01-01`, `2024-01-01T10:00:00Z`, `…T10:00:00.1234567+05:30`; no offset
 * means UTC), or Azure's 'yyyy-MM-dd hh:mm:ss tt' (12-hour, AM/PM, UTC), or 'yyyy-MM-dd HH:mm:ss' 24-hour (UTC).
 * Returns null when invalid. Surrounding whitespace is ignored.
 */
export function parseFilterDate(value: string): Date | null {
  const text = value.trim();
  const num = (field: string | undefined): number => Number(field ?? 0);

  let m = AZURE_12_HOUR.exec(text);
  if (m) {
    const hour12 = num(m[4]);
    if (hour12 < 1 || hour12 > 12) return null;
    const hour = (hour12 % 12) + (m[7]?.toUpperCase() === 'PM' ? 12 : 0);
    return utcDate(num(m[1]), num(m[2]), num(m[3]), hour, num(m[5]), num(m[6]), 0);
  }

  m = AZURE_24_HOUR.exec(text);
  if (m) return utcDate(num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]), 0);

  m = ISO_DATE_TIME.exec(text);
  if (m) {
    const ms = num(m[7]?.padEnd(3, '0').slice(0, 3)); // fractions finer than a millisecond are truncated
    const date = utcDate(num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]), ms);
    const zone = m[8];
    if (date === null || zone === undefined || zone.toUpperCase() === 'Z') return date;
    const digits = zone.replace(':', ''); // ±HHMM
    const offsetHours = num(digits.slice(1, 3));
    const offsetMinutes = num(digits.slice(3, 5));
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    const sign = digits.startsWith('-') ? -1 : 1;
    return new Date(date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  }

  return null;
}
