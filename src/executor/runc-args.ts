import { inUserNamespace } from '../process/user-namespace.js';

/**
 * runc's global flags for a state root: `--rootless true` in a user namespace (rootless mode),
 * where runc must not make cgroups it has no rights to (its default, `auto`, guesses from the
 * euid, which is 0 there). Root's command line is unchanged.
 */
export function runcGlobalArgs(runcRoot: string): string[] {
  return ['--root', runcRoot, ...(inUserNamespace() ? ['--rootless', 'true'] : [])];
}
