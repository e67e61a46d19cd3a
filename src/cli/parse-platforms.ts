import { UserError } from '../errors.js';
import { formatPlatform, parsePlatform, type PlatformSpec } from '../registry/platform.js';

/**
 * `--platform` values (each a comma list, as buildx takes them) → the platforms to build, each
 * once (`arm64` and `linux/arm64/v8` are one), in the order first given.
 */
export function parsePlatforms(values: readonly string[]): PlatformSpec[] {
  const out = new Map<string, PlatformSpec>();
  for (const item of values.flatMap((v) => v.split(','))) {
    if (item.trim() === '') continue;
    const p = parsePlatform(item);
    if (!p)
      throw new UserError(`invalid --platform "${item.trim()}": not a platform`, {
        hint: 'write os/arch[/variant] (linux/amd64, linux/arm64, linux/arm/v7), an architecture (arm64), or local',
      });
    if (p.os !== 'linux')
      throw new UserError(`--platform ${formatPlatform(p)}: tsbuild builds Linux images only`, {
        hint: 'use linux/ARCH',
      });
    out.set(formatPlatform(p), p);
  }
  if (out.size === 0)
    throw new UserError('--platform names no platform', { hint: 'e.g. --platform linux/amd64,linux/arm64' });
  return [...out.values()];
}

/** The `--platform` of an image command (`inspect`, `run`): exactly one platform. */
export function parseOnePlatform(value: string): PlatformSpec {
  const list = parsePlatforms([value]);
  if (list.length !== 1)
    throw new UserError(`--platform ${value}: name one platform`, { hint: 'e.g. --platform linux/arm64' });
  return list[0]!;
}
