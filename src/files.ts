import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `file` with `content` unless it exists, atomically: the content is written and synced to a temporary file
 * beside it, which is then hard-linked to `file` — link(2) fails when `file` exists (O_EXCL semantics), so of several
 * processes creating it at once exactly one wins, and no reader ever sees it empty or half-written. Returns whether
 * this call created it (false: another process did first; read theirs).
 */
export function createFileOnce(file: string, content: string, mode = 0o600): boolean {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}
