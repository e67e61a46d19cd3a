import { rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
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

/** The temp name an output is written under beside `dest`. */
export function outputTempName(dest: string): string {
  return `${dest}.tmp-${randomBytes(6).toString('hex')}`;
}

/**
 * A failure writing an output, named after it (`what`: "cannot write the OCI archive app.tar"):
 * a full disk or quota is the machine's (EnvironmentError), any other errno the user's (a
 * missing directory, no permission); anything else stays what it was (a bug).
 */
export function outputError(err: unknown, what: string): unknown {
  if (err instanceof UserError) return err;
  const env = asEnvironmentError(err, what);
  if (env !== err) return env;
  if ((err as NodeJS.ErrnoException | undefined)?.code) return new UserError(`${what}: ${(err as Error).message}`, { cause: err });
  return err;
}
