import { Type, type Static, type TSchema } from 'typebox';

/**
 * Building blocks of the response models, named as Azure's REST specification and SDK models name them. Every
 * model lists Azure's properties (optional where Azure may omit them): Fastify serializes responses from these
 * schemas and drops what they do not list, so a property the service sends must be here. The suite checks both
 * ways: each SDK response against Azure's own model (test/support/azure-model), and the serializer against the
 * views (RV_CHECK_SERIALIZATION).
 */

export const DateTime = (description?: string) =>
  Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) });
/**
 * A value Azure's model allows to be null, as OpenAPI 3.0 says it (`nullable`) rather than as a union: the
 * serializer then writes it with a null check, where a union has it validate every value against each branch (a
 * protected item's date-time: ~4% of the protected-item list's CPU).
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
/** A closed set of strings (a fixed enum of Azure's model). */
export const Enum = (values: readonly string[]) => Type.Enum([...values]);
export const StringMap = Type.Record(Type.String(), Type.String());

/** A string with the values Azure documents (its SDKs read it as a string, so other values are not refused). */
export const KnownString = (...values: string[]) => Type.String({ description: `Known values: ${values.join(', ')}` });

/** A discriminated variant: its discriminator holds the one value that names it. */
export const Discriminated = <P extends Record<string, TSchema>>(
  title: string,
  discriminator: string,
  value: string,
  properties: P,
) => Type.Object({ [discriminator]: Type.Literal(value), ...properties }, { title });

/**
 * Azure Backup's `Resource` envelope (`{Model}Resource`): id, name, type, location, tags, eTag and properties.
 * Its `$id` is its title: registered once (models/index.ts), routes refer to it by name.
 */
export function backupResource<T extends TSchema>(title: string, properties: T) {
  return Type.Object(
    {
      id: Type.String(),
      name: Type.String(),
      type: Type.String(),
      location: Type.Optional(Type.String()),
      tags: Type.Optional(StringMap),
      eTag: Type.Optional(Type.String()),
      properties,
    },
    { $id: title, title },
  );
}

/** Azure's `ErrorDetail` of backup models (a protected item's last backup error, a node's error). */
export const ErrorDetail = Type.Object(
  {
    code: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    recommendations: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'ErrorDetail' },
);

/**
 * A 202 (Accepted) answer of a long-running operation: no body; where to poll and how long to wait in headers.
 * `status` says whether the answer carries `Azure-AsyncOperation` (some operations announce only a Location).
 */
export function accepted(description: string, status = true) {
  return Type.Null({
    description,
    headers: {
      ...(status ? { 'Azure-AsyncOperation': { type: 'string', description: 'URL of the operation status' } } : {}),
      Location: { type: 'string', description: 'URL of the operation result: 202 while running, then the result' },
      ...retryAfter,
    },
  });
}

const retryAfter = {
  'Retry-After': { type: 'integer', description: 'Seconds to wait before polling again (RV_RETRY_AFTER_SECONDS)' },
};

/** The 202 of an operation result while the operation runs: no body, when to ask again. */
export const StillRunning = Type.Null({
  description: 'The operation is still running',
  headers: retryAfter,
});
