import { Command } from 'commander';
import { ConfigError, DEV_PRINCIPAL, loadConfig } from './config.ts';
import { loadOrCreateSigningKey } from './auth/signing-key.ts';
import { TokenService } from './auth/tokens.ts';

/** `recovery-vault` — start the service, or print what a client needs (tokens; later, vault credentials). */
const program = new Command('recovery-vault')
  .description('A local emulator of the Azure Recovery Services vault for SQL Server in Azure VM backup');

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
  .option('--tenant <id>', 'tenant id claim', '00000000-0000-0000-0000-000000000000')
  .action(async (options: { clientId: string; tenant: string }) => {
    const config = loadConfig();
    const principal = config.principals.find((p) => p.clientId === options.clientId);
    if (principal === undefined) throw new ConfigError('RV_PRINCIPALS', `has no principal with client id '${options.clientId}'`);
    // Signed with the key file the server uses, so the server accepts it without being asked.
    const key = await loadOrCreateSigningKey(config.token.signingKeyFile);
    const token = await new TokenService(config.token, key, () => new Date()).issue(
      { id: principal.id, clientId: principal.clientId ?? null },
      options.tenant,
    );
    process.stdout.write(`${token.accessToken}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`recovery-vault: ${(error as Error).message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
