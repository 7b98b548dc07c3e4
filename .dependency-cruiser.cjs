// The import rules of docs/architecture.md, checked by test/architecture.test.ts (and `npx depcruise src`).
// Layers: routes (HTTP shape) → services (use cases) → domain (pure rules). protocol/ (the agent wire contract) and
// arm/ (ARM conventions) are shared modules; src/app.ts is the one place that composes the routes.
const FRAMEWORKS =
  'node_modules/(fastify|@fastify|fastify-plugin|@prisma|prisma|bullmq|ioredis|pg|@azure|azurite|jose)/';

module.exports = {
  forbidden: [
    {
      name: 'nothing-imports-routes',
      comment:
        'Only src/app.ts registers routes; rules, use cases, jobs, storage and clients never depend on HTTP routes.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/routes/', '^src/app\\.ts$'] },
      to: { path: '^src/routes/' },
    },
    {
      name: 'routes-do-not-import-each-other',
      comment: 'A route folder shares conventions through src/arm or src/protocol, never through another route folder.',
      severity: 'error',
      from: { path: '^src/routes/([^/]+)/' },
      to: { path: '^src/routes/', pathNot: ['^src/routes/$1/'] },
    },
    {
      name: 'domain-is-pure',
      comment: 'domain/ holds rules with no I/O: it may use protocol/ types, nothing of the service around it.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/protocol/'] },
    },
    {
      name: 'domain-uses-no-framework',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown'],
        path: FRAMEWORKS,
      },
    },
    {
      name: 'protocol-stands-alone',
      comment: 'The agent wire contract is shared by the service and the reference agent: it depends on neither.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^src/', pathNot: ['^src/protocol/'] },
    },
    {
      name: 'agent-speaks-only-the-protocol',
      comment: 'The reference agent is a client: it knows the wire contract and nothing of the service inside.',
      severity: 'error',
      from: { path: '^src/agent/' },
      to: { path: '^src/', pathNot: ['^src/agent/', '^src/protocol/'] },
    },
    {
      name: 'arm-conventions-below-use-cases',
      comment: 'ARM conventions serve routes; they do not reach into use cases, jobs, storage or plugins.',
      severity: 'error',
      from: { path: '^src/arm/' },
      to: { path: '^src/(services|jobs|storage|plugins|agent)/' },
    },
    {
      name: 'storage-below-use-cases',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/(services|jobs|plugins|arm|agent)/' },
    },
    {
      name: 'no-circular',
      comment: 'Import circles hide which module depends on which (Prisma generated code excepted).',
      severity: 'error',
      from: { pathNot: '^src/generated/' },
      to: { circular: true, pathNot: '^src/generated/' },
    },
  ],
  options: {
    // Prisma's generated client is a dependency like any library: seen, not walked into.
    doNotFollow: { path: ['node_modules', '^src/generated/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a circle of types is still a circle to the reader.
    tsPreCompilationDeps: true,
  },
};
