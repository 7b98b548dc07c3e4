import { describe, expect, it } from 'vitest';
import { blockSizeFor } from '../../src/domain/backup-blocks.ts';

const MIB = 1024 * 1024;
const limits = { maxBlocks: 50_000, maxBlockBytes: 4000 * MIB };

describe('the block size of a backup', () => {
  it('is the configured size while the backup fits in 50,000 blocks of it', () => {
    expect(blockSizeFor(1, 4 * MIB, limits)).toBe(4 * MIB);
    expect(blockSizeFor(50_000 * 4 * MIB, 4 * MIB, limits)).toBe(4 * MIB);
  });

  it('doubles until the backup fits: a 1 TiB and a 64 TiB database', () => {
    expect(blockSizeFor(50_000 * 4 * MIB + 1, 4 * MIB, limits)).toBe(8 * MIB);
    expect(blockSizeFor(1024 * 1024 * MIB, 4 * MIB, limits)).toBe(32 * MIB);
    expect(blockSizeFor(64 * 1024 * 1024 * MIB, 4 * MIB, limits)).toBe(2048 * MIB);
  });

  it('stops at Azure’s largest block, and refuses what even 50,000 of those cannot hold', () => {
    expect(blockSizeFor(50_000 * 4000 * MIB, 4 * MIB, limits)).toBe(4000 * MIB);
    expect(blockSizeFor(50_000 * 4000 * MIB + 1, 4 * MIB, limits)).toBeUndefined();
  });
});
