import type { FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';
import { UUID } from '../domain/arm-ids.ts';

/** ARM's resource group names: 1–90 letters, digits (Unicode ones too), '_', '-', '.', '(' and ')', not ending in '.'. */
const RESOURCE_GROUP = /^[-\p{L}\p{N}_.()]{0,89}[-\p{L}\p{N}_()]$/u;

/**
 * The scope of a management request, checked as ARM's front door does before any provider sees it: a subscription
 * id is a GUID (400 otherwise), and a resource group named against ARM's rules cannot exist (404).
 */
export async function requireValidScope(request: FastifyRequest): Promise<void> {
  const { subscriptionId, resourceGroupName } = request.params as {
    subscriptionId?: string;
    resourceGroupName?: string;
  };
  if (subscriptionId !== undefined && !UUID.test(subscriptionId)) throw errors.invalidSubscriptionId(subscriptionId);
  if (resourceGroupName !== undefined && !RESOURCE_GROUP.test(resourceGroupName))
    throw errors.resourceGroupNotFound(resourceGroupName);
}
