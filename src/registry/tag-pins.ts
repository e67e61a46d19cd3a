import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';
import { StatePaths } from '../store/state-paths.js';
import type { Digest } from '../image/types.js';
import type { PlatformSpec } from './platform.js';
import type { ImageReference } from './reference.js';

/** What a tag resolved to, kept so the next build needs no registry round trip. */
export interface TagPin {
  ref: string;
  platform: PlatformSpec;
  digest: Digest;
  resolvedAt: string;
}

/** Where the pin of `ref` for `platform` is kept: `resolved-tags/<sha256 of both>.json` (StatePaths.resolvedTags). */
export function tagPinPath(stateRoot: string, ref: ImageReference, platform: PlatformSpec): string {
  const key = createHash('sha256')
    .update(`${ref.withDefaultTag().toString()}\n${JSON.stringify(platform)}`)
    .digest('hex');
  return join(new StatePaths(stateRoot).resolvedTags, `${key}.json`);
}

/** The pin at `path`; none when absent or unreadable (the tag is then resolved afresh). */
export async function readTagPin(path: string): Promise<TagPin | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as TagPin;
    return /^sha256:[a-f0-9]{64}$/.test(r.digest) ? r : undefined;
  } catch {
    return undefined;
  }
}

export async function writeTagPin(path: string, pin: TagPin): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(pin));
}

/** A state dir's tag pins as a whole (StatePaths.resolvedTags), for GC. */
export class TagPins {
  constructor(readonly dir: string) {}

  /** The manifest every readable pin names: a cached build resolves its FROM from them without the network. */
  async pinnedManifests(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      const pin = await readTagPin(join(this.dir, n));
      if (pin) out.push(pin.digest);
    }
    return out;
  }
}
