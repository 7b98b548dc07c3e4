import type { Pipeline } from '@azure/core-rest-pipeline';
import { backupModel } from './backup-model.ts';
import { checkValue, findRoute, type Problem } from './check.ts';
import type { ModelSet } from './mapper.ts';
import { vaultsModel } from './vaults-model.ts';

export type SdkClientName = 'backup' | 'vaults';

/** One response an official client received. */
export interface Exchange {
  client: SdkClientName;
  method: string;
  url: string;
  status: number;
  body: string;
}

/** What this test file's SDK clients received, in order (each test file runs in a process of its own). */
export const exchanges: Exchange[] = [];

/** Records every response the client's pipeline hands back (after its retries, before its deserializer). */
export function recordResponses(client: SdkClientName, pipeline: Pipeline): void {
  pipeline.addPolicy({
    name: 'azureModelCheckRecorder',
    async sendRequest(request, next) {
      const response = await next(request);
      exchanges.push({
        client,
        method: request.method,
        url: request.url,
        status: response.status,
        body: response.bodyAsText ?? '',
      });
      return response;
    },
  });
}

let models: Promise<Record<SdkClientName, ModelSet>> | undefined;
export const azureModels = () => (models ??= backupModel().then((backup) => ({ backup, vaults: vaultsModel() })));

/**
 * Azure-AsyncOperation URLs the SDK has no operation of its own for (a container's operationsStatus) answer the
 * package's operation-status model, which is what the client's poller reads there.
 */
const STATUS_SEGMENTS = new Set(['operationsstatus', 'operationstatus', 'backupoperations', 'operations']);
const STATUS_MODEL: Record<SdkClientName, string> = { backup: 'OperationStatus', vaults: 'OperationResource' };

/** The model of one response and what in its body the model does not allow. */
export function checkExchange(model: ModelSet, exchange: Exchange): { operation: string; problems: Problem[] } {
  const url = new URL(exchange.url);
  const route = findRoute(model, exchange.method, url.pathname);
  const segments = url.pathname.split('/');
  const isStatusPoll = exchange.method === 'GET' && STATUS_SEGMENTS.has(segments.at(-2)?.toLowerCase() ?? '');
  const operation = route?.operation ?? (isStatusPoll ? 'operation status poll' : `${exchange.method} ${url.pathname}`);
  const at = `${exchange.client} ${operation} ${exchange.status}`;
  const unmodelled = (detail: string) => ({
    operation,
    problems: [{ kind: 'unmodelled response' as const, at, detail }],
  });
  const className =
    route === undefined
      ? isStatusPoll
        ? STATUS_MODEL[exchange.client]
        : undefined
      : exchange.status >= 400
        ? route.responses.default
        : route.responses[String(exchange.status)];
  if (exchange.body.trim() === '') return { operation, problems: [] };
  if (className === undefined) return unmodelled(`${model.package} has no operation answering with this status here`);
  if (className === null) return unmodelled(`${model.package} expects no body; got ${exchange.body.slice(0, 120)}`);
  let body: unknown;
  try {
    body = JSON.parse(exchange.body);
  } catch {
    return unmodelled(`not JSON: ${exchange.body.slice(0, 120)}`);
  }
  const mapper = model.mappers[className];
  if (mapper === undefined) return unmodelled(`${model.package} has no model ${className}`);
  const problems: Problem[] = [];
  checkValue(model, mapper, body, `${at} ${className}`, problems);
  return { operation, problems };
}

/** Every problem of the given responses, and which operations they exercised. */
export async function checkExchanges(list: Exchange[]) {
  const all = await azureModels();
  const problems: Problem[] = [];
  const operations = new Set<string>();
  for (const exchange of list) {
    const result = checkExchange(all[exchange.client], exchange);
    operations.add(`${exchange.client} ${result.operation}`);
    problems.push(...result.problems);
  }
  return { responses: list.length, operations: [...operations].sort(), problems };
}
