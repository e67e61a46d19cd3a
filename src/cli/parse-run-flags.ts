/**
 * The build flags that shape every RUN (`--network`, `--add-host`, `--shm-size`, `--ulimit`) and
 * the image (`--label`, `--annotation`), parsed as buildx and docker parse them.
 */
import { isIP } from 'node:net';
import { UserError } from '../errors.js';
import type { Annotations, RunSettings, Ulimit } from '../pipeline/build-request.js';
import { formatPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from '../registry/platform.js';

/** `--label k=v` (`k` alone: an empty value), as buildx's listToMap takes them; later ones win. */
export function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (!key) throw new UserError(`invalid --label "${v}": the key is empty`, { hint: 'use --label KEY=VALUE' });
    out[key] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return out;
}

const ANNOTATION_TYPES = ['manifest', 'index', 'manifest-descriptor', 'index-descriptor'] as const;

/**
 * `--annotation [TYPE:]KEY=VALUE` with buildx's types (`manifest`, `index`, `manifest-descriptor`,
 * `index-descriptor`); no type is `manifest`, as BuildKit's exporter reads it. A `TYPE[PLATFORM]`
 * prefix names one platform's manifest, which must be one `built` (the --platform list, or the
 * host's). An index exists only when several platforms are built: index annotations need them.
 */
export function parseAnnotations(values: string[], built: readonly PlatformSpec[]): Annotations {
  const out: Annotations = { manifest: {}, index: {}, manifestDescriptor: {}, indexDescriptor: {} };
  const builtNames = built.map((p) => formatPlatform(normalizePlatform(p)));
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UserError(`invalid --annotation "${v}": expected [TYPE:]KEY=VALUE`);
    let key = v.slice(0, eq);
    const value = v.slice(eq + 1);
    let type = 'manifest';
    let platform: string | undefined;
    // buildx's pattern: a `[a-z-]+` prefix before a colon is a type, which must be known
    const m = /^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?:(\S+)$/.exec(key);
    if (m) {
      if (!(ANNOTATION_TYPES as readonly string[]).includes(m[1]!))
        throw new UserError(`unknown annotation type "${m[1]}"`, { hint: `types: ${ANNOTATION_TYPES.join(', ')}` });
      type = m[1]!;
      key = m[3]!;
      if (m[2] !== undefined) {
        const named = parsePlatform(m[2]);
        platform = named && formatPlatform(named);
        if (!platform || !builtNames.includes(platform)) {
          throw new UserError(`invalid --annotation "${v}": no platform ${m[2]} is built`, {
            hint: `this build makes ${builtNames.join(', ')}`,
          });
        }
        if (type.startsWith('index'))
          throw new UserError(`invalid --annotation "${v}": an index annotation names no platform`, {
            hint: `the index holds every platform: use ${type}:${key}=…, or manifest[${m[2]}]:${key}=…`,
          });
        // with one platform built, naming it is the same as naming none
        if (builtNames.length === 1) platform = undefined;
      }
    }
    const target =
      type === 'manifest'
        ? out.manifest
        : type === 'index'
          ? out.index
          : type === 'manifest-descriptor'
            ? out.manifestDescriptor
            : out.indexDescriptor;
    if (platform) {
      const perPlatform = type === 'manifest' ? (out.manifestFor ??= {}) : (out.manifestDescriptorFor ??= {});
      (perPlatform[platform] ??= {})[key] = value;
    } else target[key] = value;
  }
  // BuildKit's words: a single-platform image has no index of its own to annotate
  const indexKeys = [...Object.keys(out.index), ...Object.keys(out.indexDescriptor)];
  if (indexKeys.length && built.length < 2) {
    throw new UserError('index annotations not supported for single platform export', {
      hint: `one platform's image has no index: annotate the manifest (manifest:${indexKeys[0]}=…) or its descriptor (manifest-descriptor:…), or build several --platform`,
    });
  }
  return out;
}

/**
 * `--network`: `default` (RUN's own default, the host network here), `none` (every RUN without
 * its own --network gets an isolated loopback), `host`; buildx refuses anything else.
 */
export function parseNetwork(value: string): 'default' | 'none' | 'host' {
  if (value === '' || value === 'default') return 'default';
  if (value === 'none' || value === 'host') return value;
  throw new UserError(`network mode "${value}" not supported by buildkit`, { hint: 'use default, none or host' });
}

/** `--add-host HOST:IP` (or `HOST=IP`; `[v6]` brackets allowed), as buildx reads it. */
export function parseAddHosts(values: string[]): { host: string; ip: string }[] {
  return values.map((h) => {
    let sep = h.indexOf('=');
    if (sep < 0) sep = h.indexOf(':');
    const host = sep < 0 ? '' : h.slice(0, sep);
    let ip = sep < 0 ? '' : h.slice(sep + 1);
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (ip === 'host-gateway')
      throw new UserError(`invalid host ${h}: host-gateway is not supported`, {
        hint: 'RUN uses the host network: give the address itself, e.g. 127.0.0.1',
      });
    if (!host || !ip || isIP(ip) === 0) throw new UserError(`invalid host ${h}`, { hint: 'use --add-host HOST:IP' });
    return { host, ip };
  });
}

const RAM_UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40, p: 2 ** 50 };

/** docker's RAMInBytes: `64m`, `1g`, `1.5GiB`, plain bytes; binary units. */
export function parseShmSize(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw new UserError(`invalid --shm-size "${value}"`, { hint: 'a size such as 128m or 1g' });
  const bytes = Math.floor(Number.parseFloat(m[1]!) * RAM_UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isFinite(bytes) || bytes <= 0) throw new UserError(`invalid --shm-size "${value}": it must be positive`);
  return bytes;
}

const ULIMIT_NAMES = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
];

/** `--ulimit NAME=SOFT[:HARD]` (docker's units.ParseUlimit; -1 is unlimited); a later one of the same name wins. */
export function parseUlimits(values: string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) throw new UserError(`invalid ulimit argument: ${v}`, { hint: 'use --ulimit NAME=SOFT[:HARD]' });
    const name = v.slice(0, eq);
    if (!ULIMIT_NAMES.includes(name))
      throw new UserError(`invalid ulimit type: ${name}`, { hint: `one of: ${ULIMIT_NAMES.join(', ')}` });
    const parts = v.slice(eq + 1).split(':');
    if (parts.length > 2)
      throw new UserError(
        `too many limit value arguments - ${v.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``,
      );
    const nums = parts.map((p) => {
      if (!/^-?\d+$/.test(p)) throw new UserError(`invalid ulimit value "${p}" in ${v}`);
      return BigInt(p);
    });
    const soft = nums[0]!;
    const hard = nums[1] ?? soft;
    if (soft > hard && hard !== -1n)
      throw new UserError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    byName.set(name, { name, soft: soft.toString(), hard: hard.toString() });
  }
  return [...byName.values()];
}

/** The RUN settings the flags give, or undefined when none is given (the ops, and their keys, stay as they were). */
export function runSettings(flags: {
  network?: string;
  addHost?: string[];
  shmSize?: string;
  ulimit?: string[];
}): RunSettings | undefined {
  const out: RunSettings = {};
  const network = flags.network !== undefined ? parseNetwork(flags.network) : 'default';
  if (network !== 'default') out.network = network;
  if (flags.addHost?.length) out.extraHosts = parseAddHosts(flags.addHost);
  if (flags.shmSize !== undefined) out.shmSize = parseShmSize(flags.shmSize);
  if (flags.ulimit?.length) out.ulimits = parseUlimits(flags.ulimit);
  return Object.keys(out).length ? out : undefined;
}
