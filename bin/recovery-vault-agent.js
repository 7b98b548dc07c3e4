#!/usr/bin/env node
// The compiled reference agent: `npm run build` writes dist/. From source: node --import tsx src/agent/cli.ts
await import('../dist/agent/cli.js');
