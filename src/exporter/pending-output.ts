import { readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isOwnerAlive, ownerInName, ownerToken } from '../store/owner.js';
import { asEnvironmentError, UserError } from '../errors.js';

/**
 * An output written in full beside its destination, not yet in place. The build commits every
 * output only once all of them (and the image's tags) are ready and it has not been cancelled,
 * so a failed or interrupted export leaves nothing at any `dest`.
 */
export interface PendingOutput {
  /** Puts the output in place (a rename, or the last small write). */
  commit(): Promise<void>;
  /** Removes what was written; never throws. */
  discard(): Promise<void>;
}

export interface ExportOptions {
  /** The build's cancellation: checked while the output is written. */
  signal?: AbortSignal;
  /** Told the bytes written so far and the whole (per chunk; the receiver throttles), and once more at the end. */
  onBytes?: (done: number, total: number, finished: boolean) => void;
}

/** For outputs that cannot wait (stdout, a directory written in place). */
export const COMMITTED: PendingOutput = { commit: async () => {}, discard: async () => {} };

/** A file or directory at `tmp`, renamed to `dest` on commit. */
export function pendingRename(tmp: string, dest: string, what: string): PendingOutput {
  return {
    async commit() {
      try {
        await rename(tmp, dest);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true }).catch(() => {});
        throw outputError(err, what);
      }
    },
    discard: () => rm(tmp, { recursive: true, force: true }).catch(() => {}),
  };
}

/**
 * The temp name an output is written under beside `dest`: `<dest>.tmp-<owner>-<random>`. The
 * owner token (cache/owner.ts) lets the next write to `dest` tell a killed writer's leftover from
 * one being written now.
 */
export function outputTempName(dest: string): string {
  return `${dest}.tmp-${ownerToken()}-${randomBytes(6).toString('hex')}`;
}

/** Removes `<dest>.tmp-<owner>-*` left by writers that no longer run; returns what it removed. */
export function sweepDeadTemps(dest: string): Promise<string[]> {
  return sweepDeadIn(dirname(dest), `${basename(dest)}.tmp-`);
}

/** Removes the entries of `dir` named `<prefix>…<owner>…` whose owner no longer runs (writeFileAtomic's temps: prefix `.tmp-`). */
export async function sweepDeadIn(dir: string, prefix: string): Promise<string[]> {
  const self = ownerToken();
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const owner = ownerInName(name.slice(prefix.length));
    // without a token (an older tsbuild's name) its writer cannot be told dead: left alone
    if (!owner || owner === self || isOwnerAlive(owner)) continue;
    const path = join(dir, name);
    await rm(path, { recursive: true, force: true }).catch(() => {});
    removed.push(path);
  }
  return removed;
}

/**
 * A failure writing an output, named after it (`what`: "cannot write the OCI archive app.tar"):
 * a full disk, a quota or no permission is the machine's (EnvironmentError), any other errno the
 * user's (a missing directory); anything else stays what it was (a bug).
 */
export function outputError(err: unknown, what: string): unknown {
  if (err instanceof UserError) return err;
  const env = asEnvironmentError(err, what, {
    denied: 'write the output where this user may write, or change the permissions of its directory',
  });
  if (env !== err) return env;
  if ((err as NodeJS.ErrnoException | undefined)?.code)
    return new UserError(`${what}: ${(err as Error).message}`, { cause: err });
  return err;
}
