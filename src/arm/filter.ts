import type { FastifyRequest } from 'fastify';
import {
  bindFilter,
  FilterSyntaxError,
  parseFilter,
  parseFilterDate,
  type FilterClause,
  type FilterOperator,
} from '../domain/odata-filter.ts';
import { errors } from '../domain/errors.ts';

export type BoundFilter<K extends string> = Partial<Record<K, FilterClause[]>>;

/** The request's `$filter`, parsed and checked against the keys and operators a list supports; 400 otherwise. */
export function readFilter<K extends string>(
  request: FastifyRequest,
  spec: Record<K, readonly FilterOperator[]>,
): BoundFilter<K> {
  const text = (request.query as { $filter?: unknown }).$filter;
  if (text === undefined) return {};
  try {
    return bindFilter(parseFilter(String(text)), spec);
  } catch (error) {
    if (error instanceof FilterSyntaxError) throw errors.invalidFilter(error.message);
    throw error;
  }
}

/** The value of `key eq '…'`, if the filter has one; case-insensitively matched against `allowed` when given. */
export function filterEquals<K extends string, V extends string = string>(
  filter: BoundFilter<K>,
  key: K,
  allowed?: readonly V[],
): V | undefined {
  const clause = filter[key]?.find((c) => c.op === 'eq');
  if (clause === undefined) return undefined;
  const value = String(clause.value);
  if (allowed === undefined) return value as V;
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw errors.invalidFilter(
      `Invalid $filter: unsupported value '${value}' for '${key}'; supported: ${allowed.join(', ')}`,
    );
  }
  return match;
}

/**
 * A time bound from `$filter` clauses on `key` (dates as Azure writes them, or ISO 8601): `eq` and `ge` mean "from"
 * when `eqMeans` is 'from', "until" when it is 'until' (Azure's job filters say `startTime eq … and endTime eq …`).
 */
export function filterTimeBound<K extends string>(filter: BoundFilter<K>, key: K, eqMeans: 'from' | 'until') {
  const bound: { gte?: Date; gt?: Date; lte?: Date; lt?: Date } = {};
  for (const clause of filter[key] ?? []) {
    const date = parseFilterDate(String(clause.value));
    if (date === null) {
      throw errors.invalidFilter(
        `Invalid $filter: '${String(clause.value)}' for '${key}' is not a date; use 'yyyy-MM-dd hh:mm:ss AM' or ISO 8601`,
      );
    }
    const op = clause.op === 'eq' ? (eqMeans === 'from' ? 'ge' : 'le') : clause.op;
    if (op === 'ge') bound.gte = date;
    else if (op === 'gt') bound.gt = date;
    else if (op === 'le') bound.lte = date;
    else if (op === 'lt') bound.lt = date;
  }
  return bound;
}
