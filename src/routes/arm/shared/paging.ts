import type { FastifyRequest } from 'fastify';
import { errors } from '../../../domain/errors.ts';
import { armUrl } from './urls.ts';

export interface Page<T> {
  value: T[];
  nextLink?: string;
}

/** A keyset position: the values of the list's sort columns of the last row, as strings (e.g. [name, id]). */
export type Cursor = string[];

/**
 * Keyset paging for every ARM list: `fetch` reads up to `take` rows after the cursor (in its index order);
 * one extra row tells whether a next page exists, and its cursor travels opaque in `$skipToken` of `nextLink`.
 */
export async function page<Row, Out>(
  request: FastifyRequest,
  options: {
    path: string;
    fetch: (after: Cursor | undefined, take: number) => Promise<Row[]>;
    cursorOf: (row: Row) => Cursor;
    render: (row: Row) => Out;
    /** Query parameters other than the skip token to carry into nextLink (e.g. $filter). */
    carry?: Record<string, string | undefined>;
  },
): Promise<Page<Out>> {
  const query = request.query as Record<string, string | undefined>;
  const size = pageSize(request, query.$top);
  const after = decodeSkipToken(query.$skipToken ?? query.$skiptoken);
  const rows = await options.fetch(after, size + 1);
  const value = rows.slice(0, size).map(options.render);
  if (rows.length <= size) return { value };
  const last = rows[size - 1] as Row;
  const carry = Object.fromEntries(
    Object.entries(options.carry ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  if (query.$top !== undefined) carry.$top = query.$top;
  return { value, nextLink: armUrl(request, options.path, { ...carry, $skipToken: encodeSkipToken(options.cursorOf(last)) }) };
}

function pageSize(request: FastifyRequest, top: string | undefined): number {
  const max = request.server.config.pageSize;
  if (top === undefined) return max;
  const value = Number(top);
  if (!Number.isInteger(value) || value < 1) throw errors.invalidInput(`$top must be a positive integer (got '${top}').`);
  return Math.min(value, max);
}

function encodeSkipToken(cursor: unknown): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeSkipToken(token: string | undefined): Cursor | undefined {
  if (token === undefined || token === '') return undefined;
  let cursor: unknown;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    cursor = undefined;
  }
  if (!Array.isArray(cursor) || cursor.length === 0 || !cursor.every((part) => typeof part === 'string')) {
    throw errors.invalidInput(`The $skipToken '${token.slice(0, 64)}' is invalid; use the nextLink of the previous page.`);
  }
  return cursor;
}

/** A (time, id) keyset position — lists newest first — or a 400 when the cursor's time is not one. */
export function timeCursor(after: Cursor | undefined): [Date, string] | undefined {
  if (after === undefined) return undefined;
  const [time = '', id = ''] = after;
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) throw errors.invalidInput('The $skipToken is invalid; use the nextLink of the previous page.');
  return [at, id];
}

/** The Prisma condition "(a, b) > (cursor[0], cursor[1])" for a two-column keyset. */
export function afterPair<A extends string, B extends string>(a: A, b: B, after: Cursor | undefined) {
  if (after === undefined) return {};
  const [first = '', second = ''] = after;
  return { OR: [{ [a]: { gt: first } }, { [a]: first, [b]: { gt: second } }] } as unknown as Record<A | B, unknown>;
}
