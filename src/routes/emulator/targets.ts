import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.ts';
import { canSeeSubscription, isAuthorized } from '../../domain/rbac.ts';
import { parseContainerOrItemId, type ItemIdParts } from '../../domain/arm-ids.ts';

/**
 * An emulator control's target, named by ARM id and checked like any ARM request: a subscription the caller has no
 * role on does not exist, and the route's action must be granted on it.
 */
export function controlTarget(request: FastifyRequest, id: string): ItemIdParts {
  const parts = parseContainerOrItemId(id);
  if (parts === undefined)
    throw errors.invalidInput(
      `'${id}' is not the ARM id of a protection container or protected item of a Recovery Services vault.`,
    );
  const assignments = request.caller?.assignments ?? [];
  if (!canSeeSubscription(assignments, parts.subscriptionId)) throw errors.subscriptionNotFound(parts.subscriptionId);
  const action = request.routeOptions.config.action ?? '';
  if (!isAuthorized(assignments, parts.subscriptionId, action))
    throw errors.authorizationFailed(request.caller?.principalId ?? '', action, id);
  return parts;
}
