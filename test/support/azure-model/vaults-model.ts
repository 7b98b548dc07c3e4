import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { templateSegments, type Mapper, type MapperType, type ModelSet, type Route } from './mapper.ts';

const PACKAGE = '@azure/arm-recoveryservices';

/**
 * `@azure/arm-recoveryservices` 7.2.0 is a modular client: it ships no Mappers, only (de)serializer functions and
 * the TypeScript declarations of its models. The declarations are the machine-readable model (wire names equal the
 * declared names in this package: each deserializer copies `item["x"]` to `x`); they are read with the TypeScript
 * compiler into the Mapper shape — optional (`?`) or required, `readonly`, `Date` as DateTime, arrays, `Record`s,
 * string-literal unions as enums, `extends` as inherited properties. Routes come from each operation's `_xSend`
 * (URL template, method) and `_xDeserialize` (expected statuses, the body's deserializer, the error's).
 */
export function vaultsModel(): ModelSet {
  const dist = join(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)), 'dist', 'esm');
  const mappers = declaredModels(join(dist, 'models', 'models.d.ts'));
  return {
    package: `${PACKAGE} 7.2.0`,
    mappers,
    discriminators: {},
    routes: operationRoutes(join(dist, 'api'), mappers),
  };
}

function declaredModels(file: string): Record<string, Mapper> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  const aliases = new Map<string, ts.TypeAliasDeclaration>();
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement)) interfaces.set(statement.name.text, statement);
    if (ts.isTypeAliasDeclaration(statement)) aliases.set(statement.name.text, statement);
  }
  const typeOf = (node: ts.TypeNode): MapperType => {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { name: 'String' };
      case ts.SyntaxKind.NumberKeyword:
        return { name: 'Number' };
      case ts.SyntaxKind.BooleanKeyword:
        return { name: 'Boolean' };
    }
    if (ts.isArrayTypeNode(node)) return { name: 'Sequence', element: { type: typeOf(node.elementType) } };
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal))
      return { name: 'Enum', allowedValues: [node.literal.text] };
    if (ts.isUnionTypeNode(node)) {
      const values = node.types.map((t) =>
        ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : undefined,
      );
      return values.every((v) => v !== undefined) ? { name: 'Enum', allowedValues: values } : { name: 'any' };
    }
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText(source);
      const [first, second] = node.typeArguments ?? [];
      if (name === 'Date') return { name: 'DateTime' };
      if (name === 'Array' && first !== undefined) return { name: 'Sequence', element: { type: typeOf(first) } };
      if (name === 'Record' && second !== undefined) return { name: 'Dictionary', value: { type: typeOf(second) } };
      if (interfaces.has(name)) return { name: 'Composite', className: name };
      const alias = aliases.get(name);
      if (alias !== undefined) return typeOf(alias.type);
    }
    return { name: 'any' };
  };
  const propertiesOf = (declaration: ts.InterfaceDeclaration): Record<string, Mapper> => {
    const inherited = (declaration.heritageClauses ?? []).flatMap((clause) =>
      clause.types.map((t) => interfaces.get(t.expression.getText(source))),
    );
    const properties: Record<string, Mapper> = {};
    for (const parent of inherited) if (parent !== undefined) Object.assign(properties, propertiesOf(parent));
    for (const member of declaration.members) {
      if (!ts.isPropertySignature(member) || member.type === undefined) continue;
      const name =
        ts.isIdentifier(member.name) || ts.isStringLiteral(member.name)
          ? member.name.text
          : member.name.getText(source);
      properties[name] = {
        serializedName: name,
        required: member.questionToken === undefined,
        readOnly: member.modifiers?.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword) ?? false,
        type: typeOf(member.type),
      };
    }
    return properties;
  };
  const mappers: Record<string, Mapper> = {};
  for (const [name, declaration] of interfaces) {
    mappers[name] = { type: { name: 'Composite', className: name, modelProperties: propertiesOf(declaration) } };
  }
  return mappers;
}

const filesUnder = (directory: string): string[] =>
  readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : entry === 'operations.js' ? [path] : [];
  });

/** `vaultDeserializer` → `Vault`, `_vaultListDeserializer` → `_VaultList`. */
const modelOf = (deserializer: string) =>
  deserializer
    .replace(/Deserializer$/, '')
    .replace(/^(_?)(\w)/, (_, underscore: string, c: string) => underscore + c.toUpperCase());

function operationRoutes(api: string, mappers: Record<string, Mapper>): Route[] {
  const routes: Route[] = [];
  for (const file of filesUnder(api)) {
    const text = readFileSync(file, 'utf8');
    const group = dirname(file).slice(api.length + 1) || 'operations';
    for (const [, name, sendBody] of text.matchAll(/export function _([\w$]+)Send\([^)]*\) \{([\s\S]*?)\n\}/g)) {
      const template = /expandUrlTemplate\("([^{?"]*(?:\{[a-zA-Z]+\}[^{?"]*)*)/.exec(sendBody ?? '')?.[1];
      const method = /context\.path\(path\)\.(\w+)\(/.exec(sendBody ?? '')?.[1];
      const deserialize = new RegExp(
        `export async function _${(name ?? '').replace('$', '\\$')}Deserialize\\(result\\) \\{([\\s\\S]*?)\\n\\}`,
      ).exec(text)?.[1];
      if (template === undefined || method === undefined || deserialize === undefined) continue;
      const statuses = JSON.parse(/expectedStatuses = (\[[^\]]*\])/.exec(deserialize)?.[1] ?? '[]') as string[];
      const error = /error\.details = (\w+)\(result\.body\)/.exec(deserialize)?.[1];
      const body = /return (\w+)\(result\.body\);\s*$/.exec(deserialize)?.[1];
      const responses: Route['responses'] = {};
      for (const status of statuses) responses[status] = body === undefined ? null : modelOf(body);
      if (error !== undefined) responses.default = modelOf(error);
      for (const model of Object.values(responses))
        if (model !== null && mappers[model] === undefined) throw new Error(`${PACKAGE}: no declared model ${model}`);
      routes.push({
        operation: `${group}.${name?.replace('$', '')}`,
        method: method.toUpperCase(),
        segments: templateSegments(template),
        responses,
      });
    }
  }
  if (routes.length < 15) throw new Error(`${PACKAGE}: read only ${routes.length} operations; has its layout changed?`);
  return routes;
}
