// The service for the control-plane benchmark, as its own process: the app buildApp makes, configured from the
// environment, plus two bare routes on the same Prisma pool — the baselines the routes are measured against:
//   /bench/select-1                   `select 1` (for get job);
//   /bench/items/:vaultId?after=&id=  the rows a page of the protected-item list shows (the items after the cursor in
//                                     the list's order, each with its container and policy), by one SQL query,
//                                     answered with JSON.stringify of the rows as they come (for the list).
// Prints `listening <url>`.
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const config = loadConfig();
const app = await buildApp(config);
app.get('/bench/select-1', async () => {
  await app.db.$queryRaw`select 1`;
  return { ok: true };
});
app.get<{ Params: { vaultId: string }; Querystring: { after?: string; id?: string } }>(
  '/bench/items/:vaultId',
  async (request, reply) => {
    const { after = '', id = '' } = request.query;
    const rows = await app.db.$queryRaw`
      SELECT i.*, c."name" AS "containerName", c."friendlyName" AS "containerFriendlyName", c."fqdn",
             c."vmResourceId", p."name" AS "policyName"
      FROM "ProtectedItem" i
      JOIN "ProtectionContainer" c ON c."id" = i."containerId"
      LEFT JOIN "Policy" p ON p."id" = i."policyId"
      WHERE i."vaultId" = ${request.params.vaultId} AND (i."itemNameKey", i."id") > (${after}, ${id})
      ORDER BY i."itemNameKey", i."id"
      LIMIT ${config.pageSize + 1}`;
    return reply.type('application/json').send(JSON.stringify(rows));
  },
);
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
