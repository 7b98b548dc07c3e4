import type { PrismaClient } from '../generated/prisma/client.ts';
import type { PrincipalSeed } from '../config.ts';
import { hashSecret, verifySecret } from './secrets.ts';

/**
 * Makes the configured principals exist with exactly the configured role assignments. Runs at every start;
 * idempotent, and safe when several processes start at once (a unique violation means another one did it).
 */
export async function seedPrincipals(db: PrismaClient, seeds: readonly PrincipalSeed[]): Promise<void> {
  for (const seed of seeds) {
    const existing = await db.principal.findUnique({ where: { id: seed.id } });
    const keepHash =
      existing?.secretHash != null &&
      seed.clientSecret !== undefined &&
      (await verifySecret(seed.clientSecret, existing.secretHash));
    const secretHash =
      seed.clientSecret === undefined
        ? null
        : keepHash
          ? (existing?.secretHash ?? null)
          : await hashSecret(seed.clientSecret);
    const assignments = seed.roles.flatMap((r) =>
      r.subscriptions.map((subscriptionId) => ({ role: r.role, subscriptionId: subscriptionId.toLowerCase() })),
    );
    try {
      await db.$transaction([
        db.principal.upsert({
          where: { id: seed.id },
          create: { id: seed.id, displayName: seed.displayName, clientId: seed.clientId ?? null, secretHash },
          update: { displayName: seed.displayName, clientId: seed.clientId ?? null, secretHash },
        }),
        db.roleAssignment.deleteMany({ where: { principalId: seed.id } }),
        db.roleAssignment.createMany({
          data: assignments.map((a) => ({ ...a, principalId: seed.id })),
          skipDuplicates: true,
        }),
      ]);
    } catch (error) {
      if ((error as { code?: string }).code !== 'P2002') throw error;
    }
  }
}
