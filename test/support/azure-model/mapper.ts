/**
 * The shape of the Azure SDKs' serialization model (`@azure/core-client`'s Mapper), as far as the model check reads
 * it. Both SDK packages are read into this one shape: the backup package ships it as is, the vaults package's
 * TypeScript models are converted into it (vaults-model.ts).
 */
export interface Mapper {
  serializedName?: string;
  required?: boolean;
  readOnly?: boolean;
  type: MapperType;
}

export interface MapperType {
  name: string;
  className?: string;
  uberParent?: string;
  polymorphicDiscriminator?: { serializedName: string };
  modelProperties?: Record<string, Mapper>;
  element?: Mapper;
  value?: Mapper;
  allowedValues?: unknown[];
}

/** One operation of an SDK: its method, its path template's segments and the model of each status's body. */
export interface Route {
  operation: string;
  method: string;
  segments: string[];
  /** Status code (or `default`) → class name of the body's model; null when the status has no body. */
  responses: Record<string, string | null>;
}

/** An SDK package's model: its classes by name, its polymorphic index (`Base.value` → class) and its routes. */
export interface ModelSet {
  package: string;
  mappers: Record<string, Mapper>;
  discriminators: Record<string, Mapper>;
  routes: Route[];
}

/** `/subscriptions/{subscriptionId}/…` → segments, `{x}` standing for any one segment. */
export const templateSegments = (template: string) => template.split('/').filter((s) => s !== '');
