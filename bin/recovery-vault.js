#!/usr/bin/env node
// The compiled CLI: `npm run build` (also run by `npm start` and before packing) writes dist/.
await import('../dist/cli.js');
