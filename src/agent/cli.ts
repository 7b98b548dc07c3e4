/**
 * `recovery-vault-agent --server URL --credentials FILE --spec vm.json [--state-dir DIR] [--files-root DIR] [--ca FILE] [--verbose]`
 *
 * Runs the reference agent (src/agent/agent.ts) for the VM the spec describes. One line per event on stdout
 * (warnings and errors on stderr); the spec file is read again at every discover command.
 *
 * Exit codes: 0 after SIGTERM/SIGINT (graceful stop) or when the VM was unregistered; 1 when registration is refused
 * (credentials expired or invalid, VM refused) or the vault stops accepting the agent token; 2, with one line, for
 * bad arguments or an unreadable/invalid spec, credentials or CA file.
 *
 * Installed as `bin/recovery-vault-agent.js` (compiled); from source: `node --import tsx src/agent/cli.ts`.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { Agent, AGENT_VERSION, type AgentLogEntry } from './agent.ts';
import { InputFileError, loadCredentialsFile, loadSpecFile } from './files.ts';
import { CoordinatorStateError } from './coordinator-state.ts';
import { SimulationError } from './simulation/errors.ts';

const NAME = 'recovery-vault-agent';

interface Options {
  server?: string;
  credentials: string;
  spec: string;
  stateDir?: string;
  filesRoot?: string;
  ca?: string;
  verbose?: boolean;
}

class UsageError extends Error {}

function fail(code: number, message: string): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

/** The default state directory: beside the spec file, `vm.json` → `vm.state`. */
export function defaultStateDir(specFile: string): string {
  const file = resolve(specFile);
  return join(dirname(file), `${basename(file, extname(file))}.state`);
}

function parseArguments(argv: string[]): Options {
  const program = new Command(NAME)
    .description(
      'The reference agent: a simulated SQL Server VM that registers with a recovery-vault and answers its commands',
    )
    .requiredOption('--credentials <file>', 'the vault credentials file (recovery-vault credentials --out FILE)')
    .requiredOption('--spec <file>', 'the VM spec (JSON; read again at every discover)')
    .option('--server <url>', "the service's URL (default: the credentials file's serviceUrl)")
    .option(
      '--state-dir <dir>',
      'where the agent keeps its registration and state (default: beside the spec, vm.json → vm.state)',
    )
    .option(
      '--files-root <dir>',
      "where the simulated VM's drives are: a restore as files to F:\\restore writes <dir>/F/restore (default: <state dir>/volumes)",
    )
    .option('--ca <file>', "a CA certificate (PEM) to trust for https, e.g. the service's .data/tls/cert.pem")
    .option('-v, --verbose', 'also log every heartbeat')
    .version(AGENT_VERSION, '--version')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        process.exit(0);
      throw new UsageError(`${error.message.replace(/^error:\s*/, '').split('\n')[0]} (see --help)`);
    }
    throw error;
  }
  return program.opts<Options>();
}

function printer(verbose: boolean) {
  return (entry: AgentLogEntry) => {
    if (entry.level === 'debug' && !verbose) return;
    if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(`${entry.message}\n`);
    else process.stdout.write(`${entry.message}\n`);
  };
}

async function main(): Promise<void> {
  let agent: Agent;
  let options: Options;
  try {
    options = parseArguments(process.argv);
    const credentials = loadCredentialsFile(options.credentials);
    const specFile = options.spec;
    const spec = loadSpecFile(specFile);
    const serverUrl = options.server ?? credentials.serviceUrl;
    if (serverUrl === undefined)
      throw new UsageError(`no --server given and the credentials file ${options.credentials} has no serviceUrl`);
    let ca: Buffer | undefined;
    if (options.ca !== undefined) {
      try {
        ca = readFileSync(options.ca);
      } catch (error) {
        throw new UsageError(`cannot read the CA file ${options.ca}: ${(error as Error).message}`);
      }
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----'))
        throw new UsageError(`the CA file ${options.ca} holds no PEM certificate`);
    }
    let first = true;
    agent = new Agent({
      serverUrl,
      credentials,
      // The parsed spec the first time (it was just read), then the file again at each discover.
      spec: () => {
        if (first) {
          first = false;
          return spec;
        }
        return loadSpecFile(specFile);
      },
      stateDir: options.stateDir ?? defaultStateDir(specFile),
      ...(options.filesRoot === undefined ? {} : { filesRoot: resolve(options.filesRoot) }),
      ...(ca === undefined ? {} : { ca }),
      log: printer(options.verbose === true),
    });
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputFileError || error instanceof TypeError)
      fail(2, error.message);
    throw error;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) fail(1, `${signal} again: exiting without waiting`);
    signalled = true;
    process.stdout.write(`${signal} received\n`);
    void agent.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await agent.start();
  } catch (error) {
    if (signalled) process.exit(0);
    if (error instanceof CoordinatorStateError || (error instanceof SimulationError && error.code === 'InvalidState'))
      fail(2, error.message);
    fail(1, `registration failed: ${(error as Error).message}`);
  }
  const reason = await agent.stopped;
  process.exit(reason === 'tokenRejected' ? 1 : 0);
}

await main().catch((error: unknown) => fail(1, (error as Error).stack ?? String(error)));
