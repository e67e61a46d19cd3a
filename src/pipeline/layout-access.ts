import { realpath } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { UserError, type SourceLocation } from '../errors.js';

const realOrResolved = (p: string): Promise<string> => realpath(p).catch(() => resolve(p));

const within = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
};

/**
 * `FROM oci-layout://DIR` reads a host directory, so it must be one the build was given: inside
 * the context once symlinks are resolved (BuildKit reads such a layout through the context), or
 * under a directory granted with `--allow fs.read=DIR` (buildx's entitlement; BuildKit itself
 * wants it named with --build-context). Anything else is refused before it is opened.
 */
export async function checkLayoutAccess(
  ref: string,
  dir: string,
  contextDir: string,
  fsRead: readonly string[],
  location?: SourceLocation,
): Promise<void> {
  const real = await realOrResolved(dir);
  if (within(await realOrResolved(contextDir), real)) return;
  for (const granted of fsRead) if (within(await realOrResolved(granted), real)) return;
  throw new UserError(
    `${ref}: ${dir} is outside the build context${real !== resolve(dir) ? ` (it resolves to ${real})` : ''}`,
    {
      ...(location ? { location } : {}),
      hint: `grant the build read access to it with --allow fs.read=${real}, or put the layout in the context`,
    },
  );
}
