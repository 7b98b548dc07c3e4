import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { ConfigError, DEV_PRINCIPAL, loadConfig, StartupError } from './config.ts';
import { loadOrCreateSigningKey } from './auth/signing-key.ts';
import { TokenService } from './auth/tokens.ts';
import { postTrusting } from './https-post.ts';

/** `recovery-vault` — start the service, or get what a client needs: tokens, vault credentials. */
const program = new Command('recovery-vault').description(
  'A local emulator of the Azure Recovery Services vault for SQL Server in Azure VM backup',
);

program
  .command('start', { isDefault: true })
  .description('start the service (HTTPS + HTTP; embedded Azurite unless RV_BLOB_CONNECTION_STRING is set)')
  .action(async () => {
    const { main } = await import('./server.ts');
    await main();
  });

program
  .command('token')
  .description('print a bearer token for a configured principal (default: the development principal)')
  .option('--client-id <id>', 'client id of a principal from RV_PRINCIPALS', DEV_PRINCIPAL.clientId)
  .option('--tenant <id>', 'tenant id claim (default: RV_TENANT_ID)')
  .action(async (options: { clientId: string; tenant?: string }) => {
    const config = loadConfig();
    const principal = config.principals.find((p) => p.clientId === options.clientId);
    if (principal === undefined)
      throw new ConfigError('RV_PRINCIPALS', `has no principal with client id '${options.clientId}'`);
    // Signed with the key file the server uses, so the server accepts it without being asked.
    const key = await loadOrCreateSigningKey(config.token.signingKeyFile);
    const token = await new TokenService(config.token, key, () => new Date()).issue(
      { id: principal.id, clientId: principal.clientId ?? null },
      options.tenant ?? config.tenantId,
    );
    process.stdout.write(`${token.accessToken}\n`);
  });

program
  .command('credentials')
  .description("download a vault's registration credentials (for recovery-vault-agent --credentials)")
  .requiredOption('--subscription <id>', 'subscription id')
  .requiredOption('--resource-group <name>', 'resource group')
  .requiredOption('--vault <name>', 'vault name')
  .requiredOption('--out <file>', 'where to write the credentials file')
  .option('--server <url>', 'the running service (its plain-HTTP port on this machine by default)')
  .option('--client-id <id>', 'client id of a principal from RV_PRINCIPALS', DEV_PRINCIPAL.clientId)
  .option(
    '--ca <file>',
    "a CA certificate (PEM) to trust for https (default: the service's own, RV_TLS_CERT or the data directory's)",
  )
  .action(
    async (options: {
      subscription: string;
      resourceGroup: string;
      vault: string;
      out: string;
      server?: string;
      clientId: string;
      ca?: string;
    }) => {
      const config = loadConfig();
      const principal = config.principals.find((p) => p.clientId === options.clientId);
      if (principal === undefined)
        throw new ConfigError('RV_PRINCIPALS', `has no principal with client id '${options.clientId}'`);
      const key = await loadOrCreateSigningKey(config.token.signingKeyFile);
      const { accessToken } = await new TokenService(config.token, key, () => new Date()).issue(
        { id: principal.id, clientId: principal.clientId ?? null },
        config.tenantId,
      );
      const server = (options.server ?? `http://localhost:${config.httpPort}`).replace(/\/+$/, '');
      const path = `/subscriptions/${encodeURIComponent(options.subscription)}/resourceGroups/${encodeURIComponent(options.resourceGroup)}/providers/Microsoft.RecoveryServices/vaults/${encodeURIComponent(options.vault)}/backupRegistrationCredentials`;
      // The service's own certificate is trusted like the agent's --ca: it is self-signed unless the user gave one.
      const caFile = options.ca ?? config.tls.certFile ?? join(config.dataDir, 'tls', 'cert.pem');
      const ca = options.ca !== undefined || existsSync(caFile) ? [readFileSync(caFile, 'utf8')] : [];
      const response = await postTrusting(
        `${server}${path}?api-version=2023-06-01`,
        { authorization: `Bearer ${accessToken}` },
        ca,
      );
      let body: { properties?: object; error?: { code: string; message: string } } = {};
      try {
        body = JSON.parse(response.body) as typeof body;
      } catch {
        // Not JSON: reported below with the status.
      }
      if (response.status !== 200 || body.properties === undefined) {
        throw new Error(`${response.status} ${body.error?.code ?? ''}: ${body.error?.message ?? 'unexpected answer'}`);
      }
      writeFileSync(options.out, `${JSON.stringify(body.properties, null, 2)}\n`, { mode: 0o600 });
      process.stdout.write(`wrote ${options.out} (expires ${(body.properties as { expiresAt: string }).expiresAt})\n`);
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const cause = (error as Error).cause as Error | undefined;
  process.stderr.write(
    `recovery-vault: ${(error as Error).message}${cause === undefined ? '' : `: ${cause.message}`}\n`,
  );
  process.exit(error instanceof ConfigError || error instanceof StartupError ? 2 : 1);
}
