import { createHash } from 'node:crypto';
import fc from 'fast-check';

/**
 * Hostile requests generated from the OpenAPI document: every operation of every path, made wrong in ways a caller
 * can get wrong — tokens, api-version, bodies (types, required fields, sizes, nesting, syntax, media types), names in
 * the path, $filter, $skipToken, $top — always so that the request must be refused. A request that could change state
 * carries at least one certain reason for refusal (a "rejecting" mutation); a read may carry only "soft" ones (odd
 * names, filters, tokens of a list) that reach deeper into the service.
 */

type Schema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  additionalProperties?: boolean | Schema;
};

interface Parameter {
  name: string;
  in: 'path' | 'query';
  schema: Schema;
}

export interface Operation {
  method: string;
  template: string;
  params: Parameter[];
  body?: { contentType: string; schema: Schema };
  plane: 'management' | 'agent' | 'public';
  /** Reads that change nothing (the agent's command poll leases commands: not one of them). */
  safe: boolean;
  /** Methods the path does not serve. */
  otherMethods: string[];
  /** The document says it refuses in OAuth's `{error, error_description}` (the identity endpoints), not in ARM's. */
  oauthErrors: boolean;
}

/** What a request is sent as (path and query already encoded, raw: no URL normalisation). */
export interface HostileRequest {
  /** The operation it was made from: method and path template. */
  operation: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** What was done to it, for the failure report. */
  mutations: string[];
}

/** The deployment the requests are aimed at: genuine values for every path parameter, and credentials. */
export interface Surface {
  /** Genuine path parameter values by name (unencoded). */
  pathValues: Record<string, string>;
  /** The name another container's agent uses (the token below is not for it). */
  otherContainerName: string;
  managementToken: string;
  agentToken: string;
  /** Authorization header values refused on the management plane (401, or 404 for a foreign subscription). */
  refusedManagementAuth: [string, string | undefined][];
  /** Refused on management paths with a subscriptionId only (a Contributor of another subscription). */
  foreignSubscriptionAuth: string;
  /** Authorization header values refused on the agent plane (401 or 403). */
  refusedAgentAuth: [string, string | undefined][];
  bodyLimitBytes: number;
}

interface Draft {
  method: string;
  pathValues: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  body?: string | Buffer;
}

interface Mutation {
  label: string;
  apply(draft: Draft): void;
}

const METHODS = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'];

/** The operations of an OpenAPI 3 document. */
export function operationsOf(doc: {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  security?: object[];
}): Operation[] {
  const result: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const served = Object.keys(item).map((m) => m.toUpperCase());
    for (const [method, op] of Object.entries(item)) {
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
      const [contentType, media] = Object.entries(content ?? {})[0] ?? [];
      const security = (op.security ?? doc.security ?? []) as Record<string, unknown>[];
      const plane = security.some((s) => 'agentToken' in s)
        ? 'agent'
        : security.some((s) => 'bearer' in s)
          ? 'management'
          : 'public';
      result.push({
        method: method.toUpperCase(),
        template,
        params: ((op.parameters ?? []) as Parameter[]).filter((p) => p.in === 'path' || p.in === 'query'),
        ...(contentType === undefined || media === undefined ? {} : { body: { contentType, schema: media.schema } }),
        plane,
        safe: method === 'get' && !template.endsWith('/commands'),
        otherMethods: METHODS.filter((m) => !served.includes(m)),
        oauthErrors: Object.entries((op.responses ?? {}) as Record<string, unknown>).some(
          ([status, response]) => status.startsWith('4') && JSON.stringify(response).includes('"error_description"'),
        ),
      });
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Values that fit a schema, and the schema's typed places to break

/** A value valid for `schema` as far as types and bounds go (formats other than uuid/date-time aside). */
function valid(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(valid));
  switch (schema.type) {
    case 'string':
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time')
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.max(schema.minLength ?? 0, Math.min(schema.maxLength ?? 16, 16)),
        unit: 'grapheme-ascii',
      });
    case 'integer':
    case 'number':
      return fc.integer({
        min: Math.ceil(schema.minimum ?? -1000),
        max: Math.floor(Math.min(schema.maximum ?? 1000, 1_000_000)),
      });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valid(schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: (schema.minItems ?? 0) + 2,
      });
    case 'object': {
      const properties = schema.properties ?? {};
      return fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valid(s)])), {
        requiredKeys: (schema.required ?? []).filter((k) => k in properties),
      });
    }
    default:
      return fc.constant({});
  }
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** The JSON types a schema admits, or undefined when it does not say. */
function typesOf(schema: Schema): JsonType[] | undefined {
  if (schema.anyOf !== undefined) {
    const parts = schema.anyOf.map(typesOf);
    return parts.some((p) => p === undefined) ? undefined : [...new Set(parts.flat() as JsonType[])];
  }
  if (schema.type !== undefined) return [schema.type as JsonType];
  if (schema.const !== undefined || schema.enum !== undefined)
    return [
      ...new Set(
        [schema.const, ...(schema.enum ?? [])]
          .filter((v) => v !== undefined)
          .map((v) => (v === null ? 'null' : typeof v) as JsonType),
      ),
    ];
  return undefined;
}

/** Every place in a schema (path of keys; '0' for an array item) with what it is. */
function places(schema: Schema, at: string[] = []): { at: string[]; schema: Schema }[] {
  const found = [{ at, schema }];
  if (at.length > 6) return found;
  for (const [key, child] of Object.entries(schema.properties ?? {})) found.push(...places(child, [...at, key]));
  if (schema.items !== undefined) found.push(...places(schema.items, [...at, '0']));
  for (const alternative of schema.anyOf ?? [])
    if (alternative.type === 'object') found.push(...places(alternative, at).slice(1));
  return found;
}

/** Sets `value` at `at` inside `root`, creating the containers on the way. */
function setAt(root: unknown, at: string[], value: unknown): unknown {
  if (at.length === 0) return value;
  const [key, ...rest] = at as [string, ...string[]];
  const container = (typeof root === 'object' && root !== null ? root : key === '0' ? [] : {}) as Record<
    string,
    unknown
  >;
  container[key] = setAt(container[key], rest, value);
  return container;
}

function valueOfType(type: JsonType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return fc.string({ maxLength: 8 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n));
    case 'integer':
      return fc.integer();
    case 'boolean':
      return fc.boolean();
    case 'object':
      return fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 });
    case 'array':
      return fc.array(fc.integer(), { maxLength: 2 });
    case 'null':
      return fc.constant(null);
  }
}

/** A body made invalid for `schema` for certain (as JSON text). */
function brokenBody(schema: Schema, bodyLimitBytes: number): fc.Arbitrary<{ label: string; text: string }> {
  const typed = places(schema)
    .map((p) => ({ ...p, types: typesOf(p.schema) }))
    .filter((p): p is typeof p & { types: JsonType[] } => p.types !== undefined);
  const json = (label: string, arb: fc.Arbitrary<unknown>) =>
    arb.map((value) => ({ label, text: JSON.stringify(value) }));
  const options: fc.Arbitrary<{ label: string; text: string }>[] = [];
  if (typed.length > 0) {
    options.push(
      fc.constantFrom(...typed).chain(({ at, types }) => {
        const wrong = (['string', 'integer', 'boolean', 'object', 'array', 'null'] as JsonType[]).filter(
          (t) => !types.includes(t) && !(t === 'integer' && types.includes('number')),
        );
        return fc.tuple(valid(schema), fc.constantFrom(...wrong).chain(valueOfType)).map(([base, value]) => ({
          label: `wrong type at /${at.join('/')}`,
          text: JSON.stringify(setAt(base, at, value)),
        }));
      }),
    );
  }
  const withRequired = places(schema).filter((p) => (p.schema.required ?? []).length > 0 && p.schema.type === 'object');
  if (withRequired.length > 0) {
    options.push(
      fc.constantFrom(...withRequired).chain(({ at, schema: parent }) =>
        fc
          .tuple(valid(schema), valid(parent), fc.constantFrom(...(parent.required ?? [])))
          .map(([base, object, missing]) => {
            delete (object as Record<string, unknown>)[missing];
            return { label: `missing /${[...at, missing].join('/')}`, text: JSON.stringify(setAt(base, at, object)) };
          }),
      ),
    );
  }
  const bounded = places(schema).filter(
    (p) => p.schema.type === 'string' && p.schema.maxLength !== undefined && p.schema.enum === undefined,
  );
  if (bounded.length > 0) {
    options.push(
      fc.constantFrom(...bounded).chain(({ at, schema: s }) =>
        fc
          .tuple(valid(schema), fc.integer({ min: (s.maxLength ?? 0) + 1, max: (s.maxLength ?? 0) + 200_000 }))
          .map(([base, length]) => ({
            label: `/${at.join('/')} of ${length} characters`,
            text: JSON.stringify(setAt(base, at, 'é'.repeat(length))),
          })),
      ),
    );
  }
  const scalars = typed.filter((p) => p.at.length > 0 && !p.types.includes('object') && !p.types.includes('array'));
  if (scalars.length > 0) {
    // Deep nesting where a scalar belongs: the parser, the validator and everything after must stay up.
    options.push(
      fc
        .tuple(fc.constantFrom(...scalars), fc.integer({ min: 1_000, max: 150_000 }), valid(schema))
        .map(([{ at }, depth, base]) => {
          const marker = 'nested-object-goes-here';
          const outer = JSON.stringify(setAt(base, at, marker));
          return {
            label: `${depth} levels of nesting at /${at.join('/')}`,
            text: outer.replace(`"${marker}"`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
          };
        }),
    );
  }
  options.push(
    fc
      .integer({ min: 1_000, max: 400_000 })
      .map((depth) => ({ label: `${depth} nested arrays`, text: `${'['.repeat(depth)}${']'.repeat(depth)}` })),
    json(
      'wrong root type',
      fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer()), fc.boolean()),
    ),
    fc.constantFrom(
      { label: 'truncated JSON', text: '{"properties": {"a": ' },
      { label: 'not JSON', text: 'location=westeurope' },
      { label: 'single quotes', text: "{'location': 'westeurope'}" },
      { label: 'trailing comma', text: '{"a": 1,}' },
      { label: 'NaN literal', text: '{"a": NaN}' },
      // Valid JSON whose root is no object, each probing the parser on the way.
      { label: 'lone surrogate escape', text: '"\\ud800"' },
      { label: 'raw control character', text: '{"location": "a\u0001b"}' },
      { label: 'byte order mark', text: '\ufeff[{"location": 1}]' },
      { label: '__proto__ key', text: '{"__proto__": {"isAdmin": true}, "properties": 1}' },
      {
        label: 'constructor.prototype key',
        text: '{"constructor": {"prototype": {"isAdmin": true}}, "properties": 1}',
      },
      { label: 'empty body', text: '' },
    ),
    fc
      .string({ minLength: 1, maxLength: 64, unit: 'binary' })
      .filter((s) => !parses(s))
      .map((text) => ({ label: 'random non-JSON', text })),
    fc
      .integer({ min: bodyLimitBytes + 1, max: bodyLimitBytes + 100_000 })
      .map((size) => ({ label: `body of ${size} bytes`, text: `{"a":"${'x'.repeat(size)}"}` })),
  );
  return fc.oneof(...options);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Names, filters, skip tokens

const enc = encodeURIComponent;

/** Path segments no ARM resource or resource group can be named (already encoded for the wire). */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '%2e%2e',
    '%2E%2E',
    '.',
    '%2e',
    '..%2F..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e',
    '%252e%252e',
    '%00',
    'a%00b',
    '%00%00',
    '%c0%ae%c0%ae',
    '%',
    '%zz',
    '%e2%82',
    '%ff%fe',
    '%2F',
    'a%2Fb',
    '%5C..%5C',
    '%0d%0aSet-Cookie:%20x=1',
    '%3Cscript%3E',
    "'%20OR%201=1--",
    '%22',
    '%7B%7D',
    'null.',
    'undefined%00',
    '-1.',
    '1e309%2F',
    '%3B%3B%3B',
    'VMAppContainer%3BCompute%3B..%3B..',
    '%u002e',
  ),
  fc.integer({ min: 257, max: 5_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 100, max: 2_000 }).map((n) => enc('名'.repeat(n))),
  fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' }).map((s) => `zz${enc(s)}\u0000`.replace('\u0000', '%00')),
  fc
    .string({ minLength: 1, maxLength: 12, unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)) })
    .map((s) => enc(s)),
);

/** $filter texts that do not parse or name what a list does not filter on. */
const hostileFilter: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      "name eq 'x",
      "name eq x'",
      'name eq',
      'eq',
      "and name eq 'x'",
      "name eq 'x' and",
      "name eq 'x' or name eq 'y'",
      "((name eq 'x')",
      "name eq 'x')",
      'name xx 1',
      "nosuchfield eq 'x'",
      "name eq 'x' and nosuchfield eq 'y'",
      "startTime eq 'not a date'",
      "type eq 'NoSuchType'",
      "name eq '\u0000'",
      "name eq 'é\u0000'",
      '$filter',
      "backupManagementType eq 'AzureWorkload' and",
      "operation eq 'Backup' or status eq 'Failed'",
      "status eq 'NoSuchStatus'",
      "startTime eq '2026-13-45 25:61:61 PM'",
      "endTime gt '9999999-01-01'",
      'itemType eq 1',
      'not true',
      "substringof('a', name)",
    ),
    fc.integer({ min: 100, max: 2_000 }).map((n) => `${'('.repeat(n)}name eq 'x'${')'.repeat(n)}`),
    fc.integer({ min: 100, max: 600 }).map((n) => Array.from({ length: n }, () => "name eq 'x'").join(' and ')),
    fc.integer({ min: 4_097, max: 20_000 }).map((n) => `name eq '${'x'.repeat(n)}'`),
  )
  .map(enc);

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** $skipToken values no nextLink ever carried. */
const hostileSkipToken: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      '%00',
      '!!!',
      '%zz',
      b64('not json'),
      b64('{"a":1}'),
      b64([]),
      b64([1, 2]),
      b64([null]),
      b64('null'),
      b64('"x"'),
      b64([['x']]),
      b64(['\u0000', '\u0000']),
      b64(['x\u0000y']),
      b64(['\ud800']),
      b64([{ toString: 'x' }]),
      b64(['\u0000']),
      b64(`[${'['.repeat(5000)}${']'.repeat(5000)}]`),
    ),
    fc.integer({ min: 4_097, max: 12_000 }).map((n) => 'A'.repeat(n)),
    fc
      .array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 3 })
      .map((parts) => b64(parts.map((p) => `${p}\u0000`))),
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .map((bytes) => Buffer.from(bytes).toString('base64url'))
      .filter((t) => !isCursor(t)),
  )
  .map(enc);

function isCursor(token: string): boolean {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');
  } catch {
    return false;
  }
}

const hostileTop = fc
  .constantFrom('0', '-1', 'abc', '1.5', '1e3', '99999999999999999999', '%00', '', '0x10', 'Infinity')
  .map((v) => enc(v));
const hostileApiVersion = fc
  .oneof(
    fc.constantFrom(
      '',
      'latest',
      '2023-06',
      '20230601',
      '2023-06-01;',
      "2023-06-01'",
      '2023-06-01-',
      '2023-06-01-preview-1',
      '%00',
      '2023-06-01%00',
      '..',
    ),
    fc.integer({ min: 100, max: 5_000 }).map((n) => 'x'.repeat(n)),
    fc
      .string({ minLength: 1, maxLength: 20, unit: 'grapheme' })
      .filter((s) => !/^\d{4}-\d{2}-\d{2}(-[a-z]+)?$/i.test(s)),
  )
  .map(enc);

// ---------------------------------------------------------------------------------------------------------------
// Mutations per operation

const mutation = (label: string, apply: (draft: Draft) => void): Mutation => ({ label, apply });

/** Mutations that make the request certainly refused. */
function rejecting(op: Operation, surface: Surface): fc.Arbitrary<Mutation>[] {
  const options: fc.Arbitrary<Mutation>[] = [];
  if (op.otherMethods.length > 0)
    options.push(
      fc.constantFrom(...op.otherMethods).map((m) =>
        mutation(`method ${m}`, (d) => {
          d.method = m;
        }),
      ),
    );
  const setAuth = (label: string, value: string | undefined) =>
    mutation(`authorization: ${label}`, (d) => {
      if (value === undefined) delete d.headers.authorization;
      else d.headers.authorization = value;
    });
  if (op.plane === 'management') {
    const refused = [...surface.refusedManagementAuth];
    if (op.template.includes('{subscriptionId}'))
      refused.push(['a Contributor of another subscription', surface.foreignSubscriptionAuth]);
    options.push(fc.constantFrom(...refused).map(([label, value]) => setAuth(label, value)));
  }
  if (op.plane === 'agent') {
    options.push(fc.constantFrom(...surface.refusedAgentAuth).map(([label, value]) => setAuth(label, value)));
    if (op.template.includes('{containerName}')) {
      options.push(
        fc.constant(
          mutation("another container's path", (d) => {
            d.pathValues.containerName = enc(surface.otherContainerName);
          }),
        ),
      );
    }
  }
  if (op.template.startsWith('/subscriptions/')) {
    options.push(
      fc.oneof(
        fc.constant(
          mutation('no api-version', (d) => {
            d.query = d.query.filter(([k]) => k !== 'api-version');
          }),
        ),
        hostileApiVersion.map((v) =>
          mutation(`api-version '${short(v)}'`, (d) => {
            d.query = [...d.query.filter(([k]) => k !== 'api-version'), ['api-version', v]];
          }),
        ),
        fc.constant(
          mutation('api-version twice', (d) => {
            d.query.push(['api-version', '2019-05-13']);
          }),
        ),
      ),
    );
  }
  if (op.body?.contentType === 'application/json') {
    options.push(
      brokenBody(op.body.schema, surface.bodyLimitBytes).map(({ label, text }) =>
        mutation(`body: ${label}`, (d) => {
          d.body = text;
          d.headers['content-type'] = 'application/json';
        }),
      ),
    );
    options.push(
      fc
        .constantFrom(
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'image/png',
          'application/jsonx',
        )
        .map((type) =>
          mutation(`content-type ${type}`, (d) => {
            d.headers['content-type'] = type;
          }),
        ),
    );
  } else if (op.method !== 'GET' && op.body === undefined) {
    options.push(
      fc.constantFrom('{', '{"a":', '[1,]', '\u0000').map((text) =>
        mutation(`unparsable body ${JSON.stringify(text)}`, (d) => {
          d.body = text;
          d.headers['content-type'] = 'application/json';
        }),
      ),
    );
  }
  if (op.body?.contentType === 'application/x-www-form-urlencoded') {
    options.push(
      fc
        .constantFrom(
          ['no grant_type', 'client_id=recovery-vault-dev&client_secret=recovery-vault-dev-secret'],
          ['unknown grant', 'grant_type=password&username=a&password=b'],
          ['wrong secret', 'grant_type=client_credentials&client_id=recovery-vault-dev&client_secret=guess'],
          ['unknown client', 'grant_type=client_credentials&client_id=%00&client_secret=x'],
          [
            'oversized secret',
            `grant_type=client_credentials&client_id=recovery-vault-dev&client_secret=${'x'.repeat(5000)}`,
          ],
          ['JSON instead of a form', '{"grant_type":"client_credentials"}'],
        )
        .map(([label, text]) =>
          mutation(`form: ${label}`, (d) => {
            d.body = text;
          }),
        ),
    );
  }
  if (op.body?.contentType === 'application/octet-stream') {
    options.push(
      fc.constantFrom('', 'abc', 'Z'.repeat(64), '0'.repeat(63)).map((sha) =>
        mutation(`x-content-sha256 '${sha}'`, (d) => {
          d.headers['x-content-sha256'] = sha;
        }),
      ),
    );
  }
  const wait = op.params.find((p) => p.name === 'waitSeconds');
  if (wait !== undefined) {
    options.push(
      fc.constantFrom('-1', '61', 'abc', '1.5', '%00', '1e9').map((v) =>
        mutation(`waitSeconds '${v}'`, (d) => {
          d.query.push(['waitSeconds', v]);
        }),
      ),
    );
  }
  return options;
}

/** Mutations that reach deeper: odd names and list parameters (refused too, or the request names nothing). */
function soft(op: Operation): fc.Arbitrary<Mutation>[] {
  const options: fc.Arbitrary<Mutation>[] = [];
  const names = op.params.filter((p) => p.in === 'path').map((p) => p.name);
  if (names.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...names), hostileSegment).map(([name, value]) =>
        mutation(`{${name}} = '${short(value)}'`, (d) => {
          d.pathValues[name] = value;
        }),
      ),
    );
  }
  const query = (name: string, arb: fc.Arbitrary<string>) => {
    if (op.params.some((p) => p.name === name))
      options.push(
        arb.map((v) =>
          mutation(`${name}=${short(v)}`, (d) => {
            d.query.push([name, v]);
          }),
        ),
      );
  };
  query('$filter', hostileFilter);
  query('$skipToken', hostileSkipToken);
  query('$top', hostileTop);
  return options;
}

function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
}

/** The genuine request an operation's mutations start from. */
function draftOf(op: Operation, surface: Surface, body: unknown): Draft {
  const headers: Record<string, string> = {};
  if (op.plane === 'management') headers.authorization = `Bearer ${surface.managementToken}`;
  if (op.plane === 'agent') headers.authorization = `Bearer ${surface.agentToken}`;
  const draft: Draft = {
    method: op.method,
    pathValues: Object.fromEntries(
      op.params.filter((p) => p.in === 'path').map((p) => [p.name, enc(surface.pathValues[p.name] ?? 'x')]),
    ),
    query: op.template.startsWith('/subscriptions/') ? [['api-version', '2023-06-01']] : [],
    headers,
  };
  if (op.body?.contentType === 'application/octet-stream') {
    const bytes = Buffer.from(JSON.stringify(body));
    draft.body = bytes;
    draft.headers['content-type'] = 'application/octet-stream';
    // The right length, a hash of other bytes: the block must still be refused.
    draft.headers['x-content-sha256'] = createHash('sha256')
      .update(Buffer.concat([bytes, Buffer.from('!')]))
      .digest('hex');
  } else if (op.body?.contentType === 'application/x-www-form-urlencoded') {
    draft.body = new URLSearchParams(
      Object.entries(body as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    draft.headers['content-type'] = op.body.contentType;
  } else if (op.body !== undefined) {
    draft.body = JSON.stringify(body);
    draft.headers['content-type'] = 'application/json';
  }
  return draft;
}

function render(op: Operation, draft: Draft, mutations: Mutation[]): HostileRequest {
  const path = op.template.replace(/\{(\w+)\}/g, (_, name: string) => draft.pathValues[name] ?? 'x');
  const query = draft.query.map(([k, v]) => `${enc(k)}=${v}`).join('&');
  return {
    operation: `${op.method} ${op.template}`,
    method: draft.method,
    path: query === '' ? path : `${path}?${query}`,
    headers: draft.headers,
    ...(draft.body === undefined ? {} : { body: draft.body }),
    mutations: mutations.map((m) => m.label),
  };
}

/** Hostile requests for every operation of the document, in equal measure. */
export function hostileRequests(operations: Operation[], surface: Surface): fc.Arbitrary<HostileRequest> {
  return fc.constantFrom(...operations).chain((op) => {
    const refusing = fc.oneof(...rejecting(op, surface));
    const softer = soft(op);
    const mutations: fc.Arbitrary<Mutation[]> =
      softer.length === 0
        ? refusing.map((m) => [m])
        : op.safe
          ? fc.oneof(
              fc.oneof(...softer).map((m) => [m]),
              refusing.map((m) => [m]),
              fc.tuple(fc.oneof(...softer), refusing),
            )
          : fc
              .tuple(fc.option(fc.oneof(...softer), { nil: undefined }), refusing)
              .map(([s, r]) => (s === undefined ? [r] : [s, r]));
    const body = op.body === undefined ? fc.constant(undefined) : valid(op.body.schema);
    return fc.tuple(body, mutations).map(([value, chosen]) => {
      const draft = draftOf(op, surface, value);
      // Soft mutations come first: a rejecting one (say, another container's path) has the last word.
      for (const m of chosen) m.apply(draft);
      return render(op, draft, chosen);
    });
  });
}
