/** Each vault keeps its backup data in its own blob container (names: 3–63 lower-case letters, digits, hyphens). */
export function vaultContainerName(prefix: string, vaultId: string): string {
  return `${prefix}-${vaultId}`.toLowerCase();
}
