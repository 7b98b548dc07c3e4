import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgedTokens } from '../support/forged-tokens.ts';
import { hostileRequests, operationsOf, type HostileRequest, type Surface } from '../support/hostile-requests.ts';
import type { ServiceProcess } from '../support/processes.ts';
import { targetDeployment, type TargetDeployment } from '../support/target-deployment.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const PARALLEL = 6;
const TIMEOUT_MS = 15_000;

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Thousands of malformed and hostile requests, generated from the OpenAPI document, against the service as its own
 * process with state in place (a vault, two registered VMs, a protected database with a recovery point, an open
 * upload, a restore in progress). Every answer is a 4xx with ARM's error body, none hangs, the process stays up, and
 * the database is exactly as it was. The seed is fixed (FUZZ_SEED to replay another; FUZZ_RUNS for more requests).
 */
describe('fuzzing every operation of the OpenAPI document', () => {
  let t: TargetDeployment;
  let service: ServiceProcess;
  let surface: Surface;
  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });

  beforeAll(async () => {
    t = await targetDeployment('fuzz', { asProcess: true });
    service = t.process as ServiceProcess;
    const keyFile = t.signingKeyFile;
    const bearer = (token: string) => `Bearer ${token}`;
    const management = (await forgedTokens(t.token, keyFile)).map(([label, token]): [string, string] => [
      label,
      bearer(token),
    ]);
    const agents = (await forgedTokens(t.a.agentToken, keyFile)).map(([label, token]): [string, string] => [
      `agent token ${label}`,
      bearer(token),
    ]);
    surface = {
      pathValues: {
        subscriptionId: t.subscriptionId,
        resourceGroupName: 'rg',
        vaultName: t.vault,
        fabricName: 'Azure',
        containerName: t.a.name,
        protectedItemName: t.itemName,
        policyName: t.policy,
        recoveryPointId: t.recoveryPointId,
        jobName: t.jobId,
        operationId: randomUUID(),
        intentObjectName: randomUUID(),
        location: 'westeurope',
        uploadId: t.openUploadId,
        restoreId: t.restoreId,
        index: '0',
        commandId: randomUUID(),
      },
      otherContainerName: t.b.name,
      managementToken: t.token,
      agentToken: t.a.agentToken,
      refusedManagementAuth: [
        ['none', undefined],
        ['empty', ''],
        ['Bearer alone', 'Bearer'],
        ['Basic', 'Basic dXNlcjpwYXNz'],
        ['two tokens', `Bearer ${t.token} ${t.token}`],
        ['an agent token', bearer(t.a.agentToken)],
        ['a huge token', bearer('e'.repeat(12_000))],
        ...management,
      ],
      foreignSubscriptionAuth: bearer(t.otherSubscriptionToken),
      refusedAgentAuth: [
        ['none', undefined],
        ['garbage', 'Bearer x.y.z'],
        ['a management token', bearer(t.token)],
        ["another container's agent token", bearer(t.b.agentToken)],
        ...agents,
      ],
      bodyLimitBytes: 1_048_576,
    };
  }, 120_000);
  afterAll(async () => {
    agent.destroy();
    await t?.stop();
  });

  const send = (req: HostileRequest) =>
    new Promise<Answer>((resolve, reject) => {
      const url = new URL(t.httpsUrl);
      // An explicit length: Node would otherwise send a GET's or DELETE's body unframed.
      const headers =
        req.body === undefined
          ? req.headers
          : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
      const outgoing = request(
        { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent, timeout: TIMEOUT_MS },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              contentType: String(response.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      outgoing.on('error', reject);
      outgoing.end(req.body);
    });

  /**
   * Why an answer is not a refusal in its protocol's words, if it is not: ARM's `{error:{code,message}}`, or on the
   * identity endpoints (token, OpenID configuration) OAuth's `{error, error_description}`, as Entra ID answers.
   */
  const problem = (answer: Answer, oauthErrors: boolean): string | undefined => {
    if (answer.status < 400 || answer.status > 499) return `status ${answer.status}`;
    if (!answer.contentType.startsWith('application/json')) return `content-type '${answer.contentType}'`;
    let body: { error?: { code?: unknown; message?: unknown }; error_description?: unknown };
    try {
      body = JSON.parse(answer.body) as typeof body;
    } catch {
      return 'a body that is not JSON';
    }
    // What reaches an identity route is refused in OAuth's words; what the router or HTTP layer refuses first (an
    // unknown method, an over-long or malformed URI) in ARM's, like every other path.
    if (oauthErrors && typeof body.error === 'string')
      return body.error === '' || typeof body.error_description !== 'string'
        ? 'no {error, error_description} body'
        : undefined;
    if (typeof body.error?.code !== 'string' || body.error.code === '' || typeof body.error.message !== 'string')
      return 'no {error:{code,message}} body';
    return undefined;
  };

  it(`refuses ${RUNS} hostile requests with a 4xx and ARM's error body, stays up, and changes nothing`, async () => {
    const doc = JSON.parse(readFileSync('openapi/openapi.json', 'utf8')) as Parameters<typeof operationsOf>[0];
    const operations = operationsOf(doc);
    const oauthOperations = new Set(operations.filter((o) => o.oauthErrors).map((o) => `${o.method} ${o.template}`));
    const requests = fc.sample(hostileRequests(operations, surface), { seed: SEED, numRuns: RUNS });
    const before = await t.snapshot();

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const kinds = new Map<string, { count: number; example: string }>();
    const sent = new Set<string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let i = next++; i < requests.length; i = next++) {
          const req = requests[i] as HostileRequest;
          sent.add(req.operation);
          let why: string | undefined;
          try {
            const answer = await send(req);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            why = problem(answer, oauthOperations.has(req.operation));
            if (why !== undefined) why += `: ${answer.body.slice(0, 300)}`;
          } catch (error) {
            why = (error as Error).message;
          }
          if (why !== undefined) {
            const failure = `#${i} ${req.method} ${req.path.slice(0, 200)} [${req.mutations.join('; ')}] → ${why}`;
            failures.push(failure);
            const kind = why.replace(/Activity id: [0-9a-f-]+/, '').slice(0, 100);
            kinds.set(kind, {
              count: (kinds.get(kind)?.count ?? 0) + 1,
              example: kinds.get(kind)?.example ?? failure.slice(0, 400),
            });
          }
        }
      }),
    );

    const after = await t.snapshot();
    const replay = `seed ${SEED}, ${RUNS} runs (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} to replay)`;
    const summary = [...kinds.values()]
      .sort((x, y) => y.count - x.count)
      .map(({ count, example }) => `${count} like ${example}`)
      .join('\n');
    // What the service logged at error level (pino 50+): the stack of a 5xx.
    const logged = service.lines
      .filter((line) => /"level":[56]0/.test(line))
      .slice(0, 3)
      .map((line) => line.slice(0, 1500))
      .join('\n');
    expect
      .soft(
        failures.slice(0, 5),
        `${failures.length} of ${RUNS} answers were not refusals; ${replay}; by kind:\n${summary}\nservice errors:\n${logged}\n`,
      )
      .toEqual([]);
    expect
      .soft(
        operations.filter((op) => !sent.has(`${op.method} ${op.template}`)).map((op) => `${op.method} ${op.template}`),
        'operations never fuzzed',
      )
      .toEqual([]);
    expect.soft(after, `a refused request changed the database; ${replay}`).toEqual(before);
    expect((await fetch(`${t.httpsUrl}/healthz`)).status).toBe(200);
    // The same process, up all along: it printed its listening line once.
    expect(service.running).toBe(true);
    expect(service.lines.filter((line) => line.startsWith('recovery-vault: https://'))).toHaveLength(1);
    // Refusals came from every layer: validation, authentication, tenancy, lookups, size and media-type limits.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415]));
  }, 120_000);
});
