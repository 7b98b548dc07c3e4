import type { FastifyRequest } from 'fastify';
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { errors } from '../domain/errors.ts';
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
 * The token is authenticated (an HMAC over the list's path and the cursor), so `fetch` only ever sees a cursor this
 * list produced: a forged or altered one is a 400, never a malformed query.
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
  const key = skipTokenKey(request.server.config.masterKey);
  const after = decodeSkipToken(key, options.path, query.$skipToken ?? query.$skiptoken);
  const rows = await options.fetch(after, size + 1);
  const value = rows.slice(0, size).map(options.render);
  if (rows.length <= size) return { value };
  const last = rows[size - 1] as Row;
  const carry = Object.fromEntries(
    Object.entries(options.carry ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  if (query.$top !== undefined) carry.$top = query.$top;
  return {
    value,
    nextLink: armUrl(request, options.path, {
      ...carry,
      $skipToken: encodeSkipToken(key, options.path, options.cursorOf(last)),
    }),
  };
}

function pageSize(request: FastifyRequest, top: string | undefined): number {
  const max = request.server.config.pageSize;
  if (top === undefined) return max;
  // Decimal digits only: Number() would also take '0x10', '1e3' or ' 5'.
  if (!/^[0-9]+$/.test(top) || Number(top) < 1)
    throw errors.invalidInput(`$top must be a positive integer (got '${top.slice(0, 64)}').`);
  return Math.min(Number(top), max);
}

const keys = new WeakMap<Buffer, Buffer>();

/** The skip-token key, derived from the master key (shared by every API process, so any of them reads any token). */
function skipTokenKey(masterKey: Buffer): Buffer {
  let key = keys.get(masterKey);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'recovery-vault $skipToken', 32));
    keys.set(masterKey, key);
  }
  return key;
}

/** The MAC as text: compared as the exact characters issued (base64url decoding would forgive a changed last one). */
const mac = (key: Buffer, path: string, payload: string) =>
  createHmac('sha256', key).update(`${path.toLowerCase()}\n${payload}`).digest().subarray(0, 16).toString('base64url');

function encodeSkipToken(key: Buffer, path: string, cursor: Cursor): string {
  const payload = Buffer.from(JSON.stringify(cursor)).toString('base64url');
  return `${payload}.${mac(key, path, payload)}`;
}

function decodeSkipToken(key: Buffer, path: string, token: string | undefined): Cursor | undefined {
  if (token === undefined || token === '') return undefined;
  const [payload = '', signature = '', ...rest] = token.split('.');
  const given = Buffer.from(signature);
  const expected = Buffer.from(mac(key, path, payload));
  if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw errors.invalidInput(
      `The $skipToken '${token.slice(0, 64)}' is invalid; use the nextLink of the previous page.`,
    );
  }
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Cursor;
}

/** A (time, id) keyset position — lists newest first — or a 400 when the cursor's time is not one. */
export function timeCursor(after: Cursor | undefined): [Date, string] | undefined {
  if (after === undefined) return undefined;
  const [time = '', id = ''] = after;
  const at = new Date(time);
  if (Number.isNaN(at.getTime()))
    throw errors.invalidInput('The $skipToken is invalid; use the nextLink of the previous page.');
  return [at, id];
}

/** The Prisma condition "(a, b) > (cursor[0], cursor[1])" for a two-column keyset. */
export function afterPair<A extends string, B extends string>(a: A, b: B, after: Cursor | undefined) {
  if (after === undefined) return {};
  const [first = '', second = ''] = after;
  return { OR: [{ [a]: { gt: first } }, { [a]: first, [b]: { gt: second } }] } as unknown as Record<A | B, unknown>;
}
