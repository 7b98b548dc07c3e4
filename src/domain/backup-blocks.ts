/**
 * The block size of one backup. A backup is one block blob, and Azure commits at most `maxBlocks` (50,000) blocks
 * per blob: with the configured 4 MiB that is ~195 GiB, while SQL Server databases reach many TiB. So the size is
 * chosen per backup, from the size of its stream, which the agent knows before its first block: the configured size
 * doubled until the backup fits in `maxBlocks` blocks (doubling keeps every choice a multiple of the configured size).
 * Small and ordinary backups keep the configured size; only a backup too large for it gets larger blocks.
 * Undefined when even `maxBlockBytes` blocks cannot hold it.
 */
export function blockSizeFor(
  sizeBytes: number,
  configuredBytes: number,
  limits: { maxBlocks: number; maxBlockBytes: number },
): number | undefined {
  let size = configuredBytes;
  while (Math.ceil(sizeBytes / size) > limits.maxBlocks) {
    if (size >= limits.maxBlockBytes) return undefined;
    size = Math.min(size * 2, limits.maxBlockBytes);
  }
  return size;
}
