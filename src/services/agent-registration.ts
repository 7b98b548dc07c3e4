import type { FastifyInstance } from 'fastify';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ProtectionContainer, Vault } from '../generated/prisma/client.ts';
import { raiseAlert } from './alerts.ts';
import { ArmError, errors } from '../domain/errors.ts';
import { containerName, vmResourceId, vmIdentityProblem } from '../domain/containers.ts';
import type { RegisterRequest, RegisterResponse } from '../protocol/agent.ts';
import { vaultId as armVaultId } from '../arm/paths.ts';

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** A new registration secret: `<credential id>.<random>`, so the credential is found by id and compared by hash. */
export async function createVaultCredential(app: FastifyInstance, vault: Vault, createdBy: string) {
  const id = randomUUID();
  const secret = `${id}.${randomBytes(32).toString('base64url')}`;
  const now = app.clock.now();
  const expiresAt = new Date(now.getTime() + app.config.agent.credentialsLifetimeHours * 3_600_000);
  await app.db.vaultCredential.create({
    data: { id, vaultId: vault.id, secretHash: digest(secret).toString('hex'), expiresAt, createdAt: now, createdBy },
  });
  return { secret, expiresAt };
}

async function vaultOfCredentials(app: FastifyInstance, credentials: RegisterRequest['credentials']): Promise<Vault> {
  const invalid = new ArmError(
    401,
    'UserErrorInvalidVaultCredentials',
    'The vault credentials are invalid. Download new credentials for the vault.',
  );
  const id = credentials.secret.split('.')[0] ?? '';
  const credential = /^[0-9a-f-]{36}$/.test(id)
    ? await app.db.vaultCredential.findUnique({ where: { id }, include: { vault: true } })
    : null;
  if (credential === null) throw invalid;
  const expected = Buffer.from(credential.secretHash, 'hex');
  if (!timingSafeEqual(expected, digest(credentials.secret))) throw invalid;
  if (armVaultId(credential.vault).toLowerCase() !== credentials.vaultId.toLowerCase()) throw invalid;
  if (credential.expiresAt <= app.clock.now()) {
    throw new ArmError(
      401,
      'UserErrorVaultCredentialsExpired',
      `The vault credentials expired at ${credential.expiresAt.toISOString()}. Download new credentials for the vault.`,
    );
  }
  if (credential.vault.provisioningState === 'Deleting') throw invalid;
  return credential.vault;
}

/**
 * An agent registers its VM: the VM becomes a container of the vault (a protectable container after the next
 * refreshContainers) and the agent gets a token for that container. Registering again from the same VM returns the
 * same container and revokes the token issued before (an alert tells the portal); a VM registered (through ARM) to
 * another vault is refused: one vault per VM.
 */
export async function registerAgent(app: FastifyInstance, request: RegisterRequest): Promise<RegisterResponse> {
  const vault = await vaultOfCredentials(app, request.credentials);
  const problem = vmIdentityProblem(request.vm);
  if (problem !== undefined) throw errors.badRequest(problem.code, problem.message);
  const resourceId = vmResourceId(vault.subscriptionId, request.vm.resourceGroup, request.vm.vmName);
  const name = containerName(request.vm.resourceGroup, request.vm.vmName);
  const now = app.clock.now();

  const existing = await app.db.protectionContainer.findUnique({
    where: { vmResourceIdKey: resourceId.toLowerCase() },
    include: { vault: true },
  });
  if (existing !== null && existing.vaultId !== vault.id) {
    if (existing.registrationStatus !== 'NotRegistered') {
      throw errors.conflict(
        'BMSUserErrorContainerAlreadyRegisteredToAnotherVault',
        `The VM '${request.vm.vmName}' is registered to vault '${existing.vault.name}'. A VM can be registered to one vault only: stop protection, delete the backup data and unregister it there first.`,
      );
    }
    await app.db.protectionContainer.delete({ where: { id: existing.id } });
  }
  const details = {
    os: request.vm.os,
    fqdn: request.vm.fqdn ?? null,
    agentVersion: request.agentVersion,
    lastHeartbeatAt: new Date(),
    updatedAt: now,
  };
  let container;
  try {
    container =
      existing !== null && existing.vaultId === vault.id
        ? await app.db.protectionContainer.update({
            where: { id: existing.id },
            // The token the VM's agent held until now stops working: one agent per VM holds a valid token.
            data: { ...details, tokenGeneration: { increment: 1 } },
          })
        : await app.db.protectionContainer.create({
            data: {
              ...details,
              vaultId: vault.id,
              name,
              nameKey: name.toLowerCase(),
              friendlyName: request.vm.vmName,
              vmResourceId: resourceId,
              vmResourceIdKey: resourceId.toLowerCase(),
              createdAt: now,
            },
          });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw errors.conflict('Conflict', `The VM '${request.vm.vmName}' is being registered by another request; retry.`);
    }
    throw error;
  }
  if (existing !== null && existing.vaultId === vault.id) await alertReRegistration(app, container);
  const token = await app.tokens.issueAgent(
    { containerId: container.id, generation: container.tokenGeneration },
    app.config.agent.tokenLifetimeSeconds,
  );
  return {
    containerName: container.name,
    vmResourceId: container.vmResourceId,
    vault: { id: armVaultId(vault), name: vault.name },
    agentToken: token.token,
    tokenExpiresAt: token.expiresAt.toISOString(),
    heartbeatIntervalSeconds: app.config.agent.heartbeatSeconds,
    commandWaitSeconds: 30,
  };
}

/** A portal-visible trace of a re-registration: a reinstalled agent, or someone else holding the vault's credentials. */
async function alertReRegistration(app: FastifyInstance, container: ProtectionContainer): Promise<void> {
  await raiseAlert(app, {
    vaultId: container.vaultId,
    kind: 'AgentReRegistered',
    severity: 'Warning',
    containerId: container.id,
    entityName: container.friendlyName,
    code: 'AgentReRegistered',
    message: `The workload agent of VM '${container.friendlyName}' registered again: the token it held before no longer works. Expected after reinstalling the agent or restoring the VM; otherwise check who holds the vault's credentials.`,
    raisedAt: app.clock.now(),
    openKey: `AgentReRegistered\n${container.id}\n${container.tokenGeneration}`,
  });
}
