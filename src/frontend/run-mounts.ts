/**
 * `RUN --mount=…` values: CSV fields (see ../csv.ts: quoted fields may hold commas) of
 * `key=value` or bare flags, checked per mount type the way BuildKit's instructions package does.
 */
import { posix } from 'node:path';
import { UserError, nearest, suggestLikeBuildKit, type SourceLocation } from '../errors.js';
import { splitCsv } from '../csv.js';
import type { RunMount } from '../solver/graph.js';

/** A parsed mount whose `from` (a stage, index or image) the dispatcher still has to resolve. */
export type ParsedMount = RunMount & { from?: string };

const KEYS: Record<string, string[]> = {
  bind: ['type', 'target', 'source', 'from', 'readonly', 'rw', 'readwrite'],
  cache: ['type', 'target', 'id', 'sharing', 'readonly', 'rw', 'readwrite', 'mode', 'uid', 'gid', 'from', 'source'],
  tmpfs: ['type', 'target', 'size'],
  secret: ['type', 'id', 'source', 'target', 'required', 'mode', 'uid', 'gid', 'env'],
  ssh: ['type', 'id', 'target', 'required', 'mode', 'uid', 'gid'],
};
const ALIASES: Record<string, string> = { dst: 'target', destination: 'target', src: 'source', ro: 'readonly' };

function bool(v: string | undefined, key: string, fail: (m: string) => never): boolean {
  if (v === undefined || v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return fail(`invalid value for ${key}: ${v}`);
}

function int(v: string | undefined, key: string, base: 8 | 10, fail: (m: string) => never): number | undefined {
  if (v === undefined) return undefined;
  const re = base === 8 ? /^0?[0-7]+$/ : /^\d+$/;
  if (!re.test(v)) return fail(`invalid value for ${key}: ${v}`);
  return parseInt(v, base);
}

function parseSize(v: string, fail: (m: string) => never): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) return fail(`invalid size: ${v}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  return Math.floor(Number(m[1]) * mult);
}

/**
 * Parses one `--mount` value. `expand` applies the stage's variables to each value, as BuildKit
 * does for mount options. `index` numbers ssh mounts for their default target.
 */
export function parseRunMount(
  text: string,
  expand: (word: string) => string,
  location: SourceLocation,
  index: number,
  workdir = '/',
): ParsedMount {
  const fail = (message: string, hint?: string): never => {
    throw new UserError(`RUN --mount=${text}: ${message}`, { location, ...(hint ? { hint } : {}) });
  };
  let fields: string[];
  try {
    fields = splitCsv(text);
  } catch {
    return fail('unterminated quote');
  }
  const kv = new Map<string, string | undefined>();
  for (const f of fields) {
    if (f === '') continue;
    const eq = f.indexOf('=');
    const rawKey = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
    const key = ALIASES[rawKey] ?? rawKey;
    const raw = eq < 0 ? undefined : f.slice(eq + 1);
    // BuildKit: resolved before any variable has a value (a `$` at the very end is a plain `$`)
    if (key === 'from' && raw !== undefined && raw.indexOf('$') !== -1 && raw.indexOf('$') !== raw.length - 1)
      fail("'from' doesn't support variable expansion, define alias stage instead");
    const value = raw === undefined ? undefined : expand(raw);
    if (value?.includes('\0')) fail(`${key} contains a NUL byte`, 'paths and ids cannot hold NUL bytes');
    kv.set(key, value);
  }
  const type = kv.get('type') ?? 'bind';
  const allowed = KEYS[type];
  if (!allowed) {
    const guess = suggestLikeBuildKit(type, Object.keys(KEYS));
    return fail(
      `unsupported mount type "${type}"`,
      guess ? `did you mean type=${guess}?` : `use one of ${Object.keys(KEYS).join(', ')}`,
    );
  }
  for (const key of kv.keys()) {
    if (!allowed.includes(key)) {
      const guess = nearest(key, allowed);
      fail(
        `unexpected key '${key}' for mount type '${type}'`,
        guess ? `did you mean ${guess}?` : `options: ${allowed.join(', ')}`,
      );
    }
  }
  const absolute = (p: string): string => posix.normalize(p.startsWith('/') ? p : `/${p}`);
  const targetOf = (fallback?: string): string => {
    const t = kv.get('target') ?? fallback;
    if (!t) return fail('a target is required', `add target=/path`);
    return absolute(t);
  };
  // BuildKit: a relative target of a bind, cache or tmpfs mount is under the WORKDIR; "/" is refused
  const fsTarget = (): string => {
    const t = targetOf();
    const joined = kv.get('target')!.startsWith('/') ? t : posix.join('/', workdir, kv.get('target')!);
    if (joined === '/') fail(`invalid mount target "/"`, 'mount somewhere below the root');
    return joined;
  };
  const readonly =
    kv.has('rw') || kv.has('readwrite')
      ? !bool(kv.get('rw') ?? kv.get('readwrite'), 'rw', fail)
      : kv.has('readonly')
        ? bool(kv.get('readonly'), 'readonly', fail)
        : undefined;
  const mode = int(kv.get('mode'), 'mode', 8, fail);
  const uid = int(kv.get('uid'), 'uid', 10, fail);
  const gid = int(kv.get('gid'), 'gid', 10, fail);
  const from = kv.get('from');
  switch (type) {
    case 'bind':
      return {
        type: 'bind',
        target: fsTarget(),
        source: kv.get('source') ?? '/',
        readonly: readonly ?? true,
        ...(from ? { from } : {}),
      };
    case 'cache': {
      const target = fsTarget();
      const sharing = kv.get('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked')
        fail(`invalid sharing "${sharing}"`, 'use shared, private or locked');
      const source = kv.get('source');
      return {
        type: 'cache',
        target,
        id: kv.get('id') || target,
        sharing: sharing as 'shared',
        readonly: readonly ?? false,
        mode: mode ?? 0o755,
        uid: uid ?? 0,
        gid: gid ?? 0,
        ...(from ? { from } : {}),
        ...(source !== undefined && posix.join('/', source) !== '/' ? { source: posix.join('/', source) } : {}),
      };
    }
    case 'tmpfs': {
      const size = kv.get('size');
      return { type: 'tmpfs', target: fsTarget(), ...(size !== undefined ? { size: parseSize(size, fail) } : {}) };
    }
    case 'secret': {
      // BuildKit: source= names the secret as id= does (and wins); env= alone gives no file
      const id = kv.get('source') || kv.get('id') || (kv.get('target') ? posix.basename(kv.get('target')!) : undefined);
      if (!id) return fail('one of source, target required', 'add id=NAME');
      const env = kv.get('env');
      if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env))
        fail(`invalid env "${env}"`, 'env= takes a variable name');
      const fileless = env !== undefined && !kv.get('target');
      return {
        type: 'secret',
        id,
        target: fileless ? '' : targetOf(`/run/secrets/${posix.basename(id)}`),
        ...(env !== undefined ? { env } : {}),
        required: kv.has('required') ? bool(kv.get('required'), 'required', fail) : false,
        mode: mode ?? 0o400,
        uid: uid ?? 0,
        gid: gid ?? 0,
      };
    }
    default: {
      const id = kv.get('id') || 'default';
      return {
        type: 'ssh',
        id,
        target: targetOf(`/run/buildkit/ssh_agent.${index}`),
        required: kv.has('required') ? bool(kv.get('required'), 'required', fail) : false,
        mode: mode ?? 0o600,
        uid: uid ?? 0,
        gid: gid ?? 0,
      };
    }
  }
}
