import type { FastifyRequest } from 'fastify';
import { bindFilter, FilterSyntaxError, parseFilter, type FilterClause, type FilterOperator } from '../../../domain/odata-filter.ts';
import { errors } from '../../../domain/errors.ts';

export type BoundFilter<K extends string> = Partial<Record<K, FilterClause[]>>;

/** The request's `$filter`, parsed and checked against the keys and operators a list supports; 400 otherwise. */
export function readFilter<K extends string>(request: FastifyRequest, spec: Record<K, readonly FilterOperator[]>): BoundFilter<K> {
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
export function filterEquals<K extends string, V extends string = string>(filter: BoundFilter<K>, key: K, allowed?: readonly V[]): V | undefined {
  const clause = filter[key]?.find((c) => c.op === 'eq');
  if (clause === undefined) return undefined;
  const value = String(clause.value);
  if (allowed === undefined) return value as V;
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw errors.invalidFilter(`Invalid $filter: unsupported value '${value}' for '${key}'; supported: ${allowed.join(', ')}`);
  }
  return match;
}
