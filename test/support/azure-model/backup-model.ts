import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { templateSegments, type Mapper, type ModelSet, type Route } from './mapper.ts';

const PACKAGE = '@azure/arm-recoveryservicesbackup';

/**
 * `@azure/arm-recoveryservicesbackup` 12.0.0 as shipped: its Mappers and discriminator index (the module its
 * client deserializes with) and the operation specs of its operation groups (path, method, each status's body
 * mapper). The specs are module-private constants, so they are read from the shipped JavaScript.
 */
export async function backupModel(): Promise<ModelSet> {
  const root = join(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)), 'dist-esm', 'src');
  const { discriminators, ...mappers } = (await import(`${PACKAGE}/dist-esm/src/models/mappers.js`)) as Record<
    string,
    Mapper
  > & { discriminators: Record<string, Mapper> };
  const classes: Record<string, Mapper> = {};
  for (const mapper of [...Object.values(mappers), ...Object.values(discriminators)]) {
    if (mapper.type.className !== undefined) classes[mapper.type.className] = mapper;
  }
  return {
    package: `${PACKAGE} 12.0.0`,
    mappers: classes,
    discriminators,
    routes: operationSpecs(join(root, 'operations')),
  };
}

const SPEC =
  /const (\w+)OperationSpec = \{\s*path: "([^"]+)",\s*httpMethod: "(\w+)",\s*responses: \{([\s\S]*?)\n {4}\},/g;
const RESPONSE = /(\d{3}|default): \{([^{}]*)\}/g;

function operationSpecs(directory: string): Route[] {
  const routes: Route[] = [];
  for (const file of readdirSync(directory).filter((f) => f.endsWith('.js') && f !== 'index.js')) {
    const group = file.replace(/\.js$/, '');
    for (const [, name, path, method, body] of readFileSync(join(directory, file), 'utf8').matchAll(SPEC)) {
      if (path === '{nextLink}') continue; // next pages are answered by the list's own path
      const responses: Route['responses'] = {};
      for (const [, status, content] of (body ?? '').matchAll(RESPONSE)) {
        responses[status ?? ''] = /bodyMapper: Mappers\.(\w+)/.exec(content ?? '')?.[1] ?? null;
      }
      routes.push({
        operation: `${group}.${name}`,
        method: method ?? '',
        segments: templateSegments(path ?? ''),
        responses,
      });
    }
  }
  if (routes.length < 50)
    throw new Error(`${PACKAGE}: read only ${routes.length} operation specs; has its layout changed?`);
  return routes;
}
