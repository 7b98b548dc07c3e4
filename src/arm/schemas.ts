import { Type, type TSchema } from 'typebox';

/** ARM's error body; every route documents it as its default response. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
  },
  { $id: 'ErrorResponse', description: 'ARM error: {error:{code,message}}' },
);

export const ApiVersionQuery = Type.Object(
  {
    'api-version': Type.Optional(
      Type.String({ description: 'Any yyyy-MM-dd[-preview] version; echoed in generated URLs' }),
    ),
  },
  { additionalProperties: true },
);

const filterParameter = { $filter: Type.Optional(Type.String({ maxLength: 4096 })) };
const pagingParameters = {
  $skipToken: Type.Optional(Type.String({ maxLength: 4096 })),
  $top: Type.Optional(Type.String({ maxLength: 16 })),
};

/** A list that filters and pages. */
export const ListQuery = Type.Object(
  { 'api-version': Type.Optional(Type.String()), ...filterParameter, ...pagingParameters },
  { additionalProperties: true },
);
/** A list that pages but has nothing to filter on. */
export const PagedQuery = Type.Object(
  { 'api-version': Type.Optional(Type.String()), ...pagingParameters },
  { additionalProperties: true },
);
/** An action or a short list that takes a $filter and has no pages. */
export const FilterQuery = Type.Object(
  { 'api-version': Type.Optional(Type.String()), ...filterParameter },
  { additionalProperties: true },
);

/** Free-form JSON object (tags, echoed properties). */
export const AnyObject = Type.Object({}, { additionalProperties: true });

const errorResponses = { '4xx': Type.Ref('ErrorResponse'), '5xx': Type.Ref('ErrorResponse') };

/** Response map for a route: the given success bodies plus ARM errors. */
export function responses(success: Record<number, TSchema>) {
  return { ...success, ...errorResponses };
}

/** The list envelope: `value` plus an absolute `nextLink` when more pages exist. */
export function listOf(item: TSchema) {
  return Type.Object({ value: Type.Array(item), nextLink: Type.Optional(Type.String()) });
}

export const Empty = Type.Null({ description: 'No body' });

/** A path segment of at most `maxLength` characters (ARM's names: resource groups, vaults and what lies below them). */
export const segment = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description === undefined ? {} : { description }) });
const name = (description: string) => segment(260, description);

export const SubscriptionParams = Type.Object({ subscriptionId: name('Subscription id') });
export const ResourceGroupParams = Type.Object({
  subscriptionId: name('Subscription id'),
  resourceGroupName: name('Resource group'),
});
export const VaultParams = Type.Object({
  subscriptionId: name('Subscription id'),
  resourceGroupName: name('Resource group'),
  vaultName: name('Vault name'),
});
/** The path of a vault's backup fabric (`backupFabrics/Azure`), of a container in it, of a protected item in that. */
export const FabricParams = Type.Object({ ...VaultParams.properties, fabricName: segment(64) });
export const ContainerParams = Type.Object({ ...FabricParams.properties, containerName: segment(300) });
export const ProtectedItemParams = Type.Object({ ...ContainerParams.properties, protectedItemName: segment(600) });
export const VaultOperationParams = Type.Object({ ...VaultParams.properties, operationId: name('Operation id') });
