/**
 * Azure Backup's built-in roles as ARM action patterns (a `*` matches any run of characters, case-insensitively),
 * after the role definitions Azure publishes: Backup Reader reads; Backup Operator also registers, discovers,
 * protects, backs up and restores, but cannot change vaults or policies or delete backup data; Contributor does all.
 */
export type BuiltInRole = 'Contributor' | 'BackupOperator' | 'BackupReader';

const RS = 'Microsoft.RecoveryServices';
const READ = [`${RS}/*/read`, `${RS}/locations/*/action`];

export const ROLE_ACTIONS: Record<BuiltInRole, readonly string[]> = {
  Contributor: ['*'],
  BackupOperator: [
    ...READ,
    `${RS}/vaults/backupRegistrationCredentials/action`,
    `${RS}/vaults/backupFabrics/refreshContainers/action`,
    `${RS}/vaults/backupFabrics/protectionContainers/write`,
    `${RS}/vaults/backupFabrics/protectionContainers/inquire/action`,
    `${RS}/vaults/backupFabrics/protectionContainers/protectedItems/write`,
    `${RS}/vaults/backupFabrics/protectionContainers/protectedItems/backup/action`,
    `${RS}/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action`,
    `${RS}/vaults/backupFabrics/backupProtectionIntent/write`,
    `${RS}/vaults/backupJobs/*`,
    `${RS}/vaults/backupJobsExport/action`,
  ],
  BackupReader: READ,
};

const compiled = new Map<string, RegExp>();

function pattern(glob: string): RegExp {
  let regex = compiled.get(glob);
  if (regex === undefined) {
    regex = new RegExp(
      `^${glob
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    );
    compiled.set(glob, regex);
  }
  return regex;
}

export function roleAllows(role: BuiltInRole, action: string): boolean {
  return ROLE_ACTIONS[role].some((glob) => pattern(glob).test(action));
}

export interface Assignment {
  role: BuiltInRole;
  /** A subscription id, or `*` for every subscription. */
  subscriptionId: string;
}

function covers(assignment: Assignment, subscriptionId: string): boolean {
  return assignment.subscriptionId === '*' || assignment.subscriptionId.toLowerCase() === subscriptionId.toLowerCase();
}

/** A principal with no assignment on a subscription cannot see it at all (ARM answers 404, not 403). */
export function canSeeSubscription(assignments: readonly Assignment[], subscriptionId: string): boolean {
  return assignments.some((a) => covers(a, subscriptionId));
}

export function isAuthorized(
  assignments: readonly Assignment[],
  subscriptionId: string | undefined,
  action: string,
): boolean {
  return assignments.some(
    (a) => (subscriptionId === undefined || covers(a, subscriptionId)) && roleAllows(a.role, action),
  );
}

/**
 * The subscriptions a caller sees when it lists them: those its assignments name, and — with an assignment on every
 * subscription (`*`) — every subscription the service knows of (`known`: those holding vaults or named by anyone's
 * assignment). Lower-cased, sorted, each once.
 */
export function visibleSubscriptions(assignments: readonly Assignment[], known: readonly string[]): string[] {
  const all = assignments.some((a) => a.subscriptionId === '*');
  const ids = [
    ...assignments.filter((a) => a.subscriptionId !== '*').map((a) => a.subscriptionId),
    ...(all ? known : []),
  ];
  return [...new Set(ids.map((id) => id.toLowerCase()))].sort();
}
