/**
 * The reference agent's simulation core: a simulated SQL Server VM's databases, their backups as streams, restores,
 * and the agent's on-disk state. Pure and deterministic; no network, no clock of its own (every time is a parameter).
 */
export * from './errors.ts';
export * from './spec.ts';
export * from './database.ts';
export * from './backup-format.ts';
export * from './backup.ts';
export * from './chain.ts';
export * from './restore.ts';
export * from './state.ts';
