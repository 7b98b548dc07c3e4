/**
 * The one error type the service throws for a caller-visible failure, and the factory of Azure's codes.
 * Routes throw these; the errors plugin turns them into ARM's `{error:{code,message}}` bodies.
 */
export class ArmError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

export const errors = {
  badRequest: (code: string, message: string) => new ArmError(400, code, message),
  invalidInput: (message: string) => new ArmError(400, 'BMSUserErrorInvalidInput', message),
  invalidFilter: (message: string) => new ArmError(400, 'InvalidFilterParameter', message),
  invalidRequestContent: (message: string) => new ArmError(400, 'InvalidRequestContent', message),
  missingApiVersion: () =>
    new ArmError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    ),
  invalidApiVersion: (value: string) =>
    new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${value}' is invalid. The supported versions look like 'yyyy-MM-dd' or 'yyyy-MM-dd-preview'.`,
    ),
  unauthenticated: (message: string) =>
    new ArmError(401, 'AuthenticationFailed', message, {
      'www-authenticate': 'Bearer error="invalid_token"',
    }),
  missingToken: () =>
    new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
      'www-authenticate': 'Bearer',
    }),
  authorizationFailed: (principal: string, action: string, scope: string) =>
    new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${principal}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid.`,
    ),
  agentForbidden: (containerName: string) =>
    new ArmError(
      403,
      'UserErrorAgentNotAuthorizedForContainer',
      `The agent token does not belong to container '${containerName}'.`,
    ),
  invalidSubscriptionId: (subscriptionId: string) =>
    new ArmError(
      400,
      'InvalidSubscriptionId',
      `The provided subscription identifier '${subscriptionId.slice(0, 256)}' is malformed or invalid.`,
    ),
  resourceGroupNotFound: (resourceGroup: string) =>
    new ArmError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup.slice(0, 256)}' could not be found.`),
  subscriptionNotFound: (subscriptionId: string) =>
    new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  vaultNotFound: (resourceGroup: string, vault: string) =>
    new ArmError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.RecoveryServices/vaults/${vault}' under resource group '${resourceGroup}' was not found.`,
    ),
  resourceNotFound: (what: string) => new ArmError(404, 'ResourceNotFound', `${what} was not found.`),
  itemNotFound: () =>
    new ArmError(
      404,
      'BMSUserErrorDataSourceObjectNotFound',
      'Item not found. Selected item might have been deleted. Please check if item is registered to the vault.',
    ),
  operationNotFound: (operationId: string) =>
    new ArmError(404, 'ResourceNotFound', `The operation '${operationId}' was not found.`),
  invalidUrl: (path: string) =>
    new ArmError(
      400,
      'InvalidRequestUri',
      `The request URI '${path.slice(0, 256)}' is not valid: a path segment is not well-formed percent-encoding.`,
    ),
  nameTooLong: () => new ArmError(414, 'RequestUriTooLong', 'A name in the request URI is too long.'),
  headersTooLarge: () =>
    new ArmError(431, 'RequestHeaderFieldsTooLarge', 'The request headers (the request URI included) are too large.'),
  malformedRequest: () => new ArmError(400, 'BadRequest', 'The request is not well-formed HTTP.'),
  requestTimeout: () => new ArmError(408, 'RequestTimeout', 'The request was not received in time.'),
  routeNotFound: (method: string, url: string) =>
    new ArmError(404, 'NoRegisteredProviderFound', `No route is registered for ${method} ${url}.`),
  payloadTooLarge: (limit: number) =>
    new ArmError(413, 'RequestEntityTooLarge', `The request body is larger than ${limit} bytes.`),
  unsupportedMediaType: (type: string) =>
    new ArmError(415, 'UnsupportedMediaType', `The content type '${type}' is not supported; send application/json.`),
  conflict: (code: string, message: string) => new ArmError(409, code, message),
  vaultNotEmpty: () =>
    new ArmError(
      400,
      'ServiceResourceNotEmptyWithBackendMessage',
      'Vault cannot be deleted as there are existing resources within the vault. Please delete any replicated items, registered servers, Hyper-V sites (Used for Site Recovery), policy associations for Storage Accounts (used for Azure Backup) and then delete the vault.',
    ),
  extensionNotReachable: (seconds: number) =>
    new ArmError(
      400,
      'WorkloadExtensionNotReachable',
      `The workload extension on the VM did not answer within ${seconds} seconds. Check that the VM is running and its agent can reach the vault, then re-register the container.`,
    ),
  /** Azure's code and message (SQL backup troubleshooting), for a VM that cannot reach the service. */
  vmConnectivity: (vmName: string) =>
    new ArmError(
      400,
      'UserErrorVMInternetConnectivityIssue',
      `The VM is not able to contact Azure Backup service due to internet connectivity issues ('${vmName}'). The VM ` +
        'needs outbound connectivity to Azure Backup Service, Azure Storage and Microsoft Entra ID: allow them (the ' +
        'AzureBackup, Storage and AzureActiveDirectory service tags), check DNS, load balancers, firewalls and proxies.',
    ),
  serviceUnavailable: (what: string) =>
    new ArmError(503, 'ServiceUnavailable', `${what} is unavailable; retry later.`, { 'retry-after': '5' }),
  queueUnavailable: () => errors.serviceUnavailable('The job queue (Redis)'),
  internal: (activityId: string) =>
    new ArmError(500, 'CloudInternalError', `An internal error occurred. Activity id: ${activityId}.`),
} as const;
