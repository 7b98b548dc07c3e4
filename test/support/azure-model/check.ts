import type { Mapper, ModelSet, Route } from './mapper.ts';

export type ProblemKind =
  | 'unknown property'
  | 'type mismatch'
  | 'missing required property'
  | 'unknown discriminator value'
  | 'unmodelled response';

export interface Problem {
  kind: ProblemKind;
  /** Where: `{operation} {status} {json path}`. */
  at: string;
  detail: string;
}

/** The class a discriminator value selects, searched as core-client's deserializer does (through intermediate bases). */
function polymorphicClass(model: ModelSet, base: string, value: string): Mapper | undefined {
  const pending = [base];
  while (pending.length > 0) {
    const current = pending.shift() ?? '';
    const found = model.discriminators[value === current ? value : `${current}.${value}`];
    if (found !== undefined) return found;
    for (const [key, mapper] of Object.entries(model.discriminators)) {
      if (key.startsWith(`${current}.`) && mapper.type.uberParent === current && mapper.type.className !== undefined)
        pending.push(mapper.type.className);
    }
  }
  return undefined;
}

function discriminatorOf(model: ModelSet, mapper: Mapper): string | undefined {
  const own = mapper.type.polymorphicDiscriminator?.serializedName;
  if (own !== undefined) return own;
  const parent = mapper.type.uberParent === undefined ? undefined : model.mappers[mapper.type.uberParent];
  return parent === undefined || parent === mapper ? undefined : discriminatorOf(model, parent);
}

const describe = (value: unknown) => (Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value);

/**
 * Checks a JSON value against a mapper: every property the value has must be in the model (after resolving the
 * polymorphic class its discriminator names), of the model's type; every required property must be present.
 * A JSON null stands for an absent value, as Azure's deserializers read it.
 */
export function checkValue(model: ModelSet, mapper: Mapper, value: unknown, path: string, problems: Problem[]): void {
  if (value === null || value === undefined) return;
  const mismatch = (expected: string) =>
    problems.push({
      kind: 'type mismatch',
      at: path,
      detail: `expected ${expected}, got ${describe(value)} ${JSON.stringify(value)?.slice(0, 80)}`,
    });
  const type = mapper.type;
  switch (type.name) {
    case 'String':
    case 'TimeSpan':
    case 'Uuid':
      if (typeof value !== 'string') mismatch(type.name);
      return;
    case 'Number':
      if (typeof value !== 'number') mismatch('Number');
      return;
    case 'Boolean':
      if (typeof value !== 'boolean') mismatch('Boolean');
      return;
    case 'DateTime':
    case 'Date':
    case 'DateTimeRfc1123':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) mismatch(type.name);
      return;
    case 'Enum':
      if (!(type.allowedValues ?? []).includes(value)) mismatch(`one of ${JSON.stringify(type.allowedValues)}`);
      return;
    case 'Sequence':
      if (!Array.isArray(value)) return void mismatch('Sequence');
      value.forEach(
        (element, index) => type.element && checkValue(model, type.element, element, `${path}[${index}]`, problems),
      );
      return;
    case 'Dictionary':
      if (typeof value !== 'object' || Array.isArray(value)) return void mismatch('Dictionary');
      for (const [key, entry] of Object.entries(value))
        if (type.value) checkValue(model, type.value, entry, `${path}.${key}`, problems);
      return;
    case 'Composite':
      return checkComposite(model, mapper, value, path, problems);
    default: // any, Object
      return;
  }
}

function checkComposite(model: ModelSet, mapper: Mapper, value: unknown, path: string, problems: Problem[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({
      kind: 'type mismatch',
      at: path,
      detail: `expected ${mapper.type.className}, got ${describe(value)}`,
    });
    return;
  }
  const record = value as Record<string, unknown>;
  let resolved =
    mapper.type.modelProperties === undefined ? (model.mappers[mapper.type.className ?? ''] ?? mapper) : mapper;
  const discriminator = discriminatorOf(model, resolved);
  const chosen = discriminator === undefined ? undefined : record[discriminator];
  if (typeof chosen === 'string') {
    const base = resolved.type.uberParent ?? resolved.type.className ?? '';
    const polymorphic = polymorphicClass(model, base, chosen);
    if (polymorphic !== undefined) resolved = polymorphic;
    else if (chosen !== resolved.serializedName) {
      // Its properties cannot be judged against a class nobody named: this one problem says it all.
      problems.push({
        kind: 'unknown discriminator value',
        at: `${path}.${discriminator}`,
        detail: `'${chosen}' names no class derived from ${base}`,
      });
      return;
    }
  }
  const properties = resolved.type.modelProperties ?? {};
  const known = new Map(Object.values(properties).map((p) => [p.serializedName ?? '', p]));
  for (const [key, entry] of Object.entries(record)) {
    const property = known.get(key);
    if (property === undefined)
      problems.push({
        kind: 'unknown property',
        at: `${path}.${key}`,
        detail: `${resolved.type.className} has no '${key}'`,
      });
    else checkValue(model, property, entry, `${path}.${key}`, problems);
  }
  for (const property of known.values()) {
    const name = property.serializedName ?? '';
    if (property.required === true && (record[name] === undefined || record[name] === null))
      problems.push({
        kind: 'missing required property',
        at: `${path}.${name}`,
        detail: `${resolved.type.className} requires it`,
      });
  }
}

/** The operation answering a method and path: the template matching most literal segments. */
export function findRoute(model: ModelSet, method: string, pathname: string): Route | undefined {
  const segments = pathname.split('/').filter((s) => s !== '');
  let best: { route: Route; literals: number } | undefined;
  for (const route of model.routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    let literals = 0;
    const matches = route.segments.every((part, i) => {
      if (part.startsWith('{')) return true;
      literals++;
      return part.toLowerCase() === segments[i]?.toLowerCase();
    });
    if (matches && (best === undefined || literals > best.literals)) best = { route, literals };
  }
  return best?.route;
}
