import { UserError } from '../errors.js';
import type { Digest } from '../image/types.js';

/**
 * Image references, parsed the way docker's reference package (ParseNormalizedNamed) does, so a
 * name means here exactly what it means to `docker pull`.
 */

export const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference/regexp.go.
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6Address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6Address})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const referenceRegexp = new RegExp(
  `^((?:${domain}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tagPattern}))?(?:@(${digestPattern}))?$`,
);
const anchoredIdentifier = /^[a-f0-9]{64}$/;

export class ImageReference {
  constructor(
    /** Registry host as written, with port if any; `docker.io` for Docker Hub. */
    readonly registry: string,
    /** Repository path inside the registry, e.g. `library/busybox`. */
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: Digest,
  ) {}

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** The tag or digest a manifest request asks for: the digest wins, as in docker. */
  get manifestReference(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** Docker's TagNameOnly: a reference with neither tag nor digest means `:latest`. */
  withDefaultTag(): ImageReference {
    return this.tag === undefined && this.digest === undefined
      ? new ImageReference(this.registry, this.repository, 'latest')
      : this;
  }

  withDigest(digest: Digest): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag, digest);
  }

  /** The fully qualified form, e.g. `docker.io/library/busybox:latest`. */
  toString(): string {
    return this.name + suffix(this.tag, this.digest);
  }

  /** The short form docker prints, e.g. `busybox:latest`, `user/app`, `localhost:5000/app:1`. */
  familiar(): string {
    let name = this.name;
    if (this.registry === DEFAULT_REGISTRY) {
      name = this.repository;
      const parts = name.split('/');
      if (parts.length === 2 && parts[0] === 'library') name = parts[1]!;
    }
    return name + suffix(this.tag, this.digest);
  }
}

function suffix(tag: string | undefined, digest: string | undefined): string {
  return (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
}

/** Parses `name`, `name:tag`, `name@sha256:…`, `name:tag@sha256:…`, with docker's defaults. */
export function parseReference(s: string): ImageReference {
  const invalid = (why: string) => new UserError(`invalid image reference ${JSON.stringify(s)}: ${why}`);
  if (s === '') throw invalid('empty name');
  if (anchoredIdentifier.test(s)) throw invalid('cannot specify 64-byte hexadecimal strings as a repository name');

  const [registry, remainder] = splitDomain(s);
  const remoteName = remainder.split(/[:@]/, 1)[0]!;
  if (remoteName.toLowerCase() !== remoteName) throw invalid(`repository name (${remoteName}) must be lowercase`);

  const m = referenceRegexp.exec(`${registry}/${remainder}`);
  if (!m) throw invalid('invalid reference format');
  const [, name, tag, digest] = m;
  if (name!.length > NAME_TOTAL_LENGTH_MAX)
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw invalid(
      digest.startsWith('sha256:')
        ? 'sha256 digest must be 64 lowercase hex characters'
        : 'only sha256 digests are supported',
    );
  }
  return new ImageReference(registry, name!.slice(registry.length + 1), tag, digest as Digest | undefined);
}

/**
 * Docker's splitDockerDomain: the first component is a registry host only if it looks like one
 * (has a `.` or `:`, is `localhost`, or has upper case, which no repository path can); otherwise
 * the whole name is a Docker Hub repository, and one-component Hub names live under `library/`.
 */
function splitDomain(s: string): [string, string] {
  const i = s.indexOf('/');
  let registry: string;
  let remainder: string;
  const first = i === -1 ? '' : s.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    remainder = s;
  } else {
    registry = first;
    remainder = s.slice(i + 1);
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [registry, remainder];
}

/** The hostname part of `host[:port]` / `[v6]:port`, without brackets. */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(1, end);
  }
  const colons = host.split(':').length - 1;
  // more than one colon and no brackets: a bare IPv6 address, which has no port
  return colons === 1 ? host.slice(0, host.indexOf(':')) : host;
}

/**
 * Loopback registries are spoken to over plain HTTP, as docker and containerd do: TLS on
 * localhost protects nothing and local test registries rarely have certificates.
 */
export function isInsecureRegistryHost(host: string): boolean {
  const h = hostWithoutPort(host).toLowerCase();
  if (h === 'localhost') return true;
  if (isLoopbackV4(h)) return true;
  if (h.includes(':')) {
    let normalized: string;
    try {
      normalized = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      return false;
    }
    if (normalized === '::1') return true;
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(normalized);
    return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
  }
  return false;
}

function isLoopbackV4(h: string): boolean {
  const parts = h.split('.');
  if (parts.length !== 4) return false;
  if (!parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return false;
  return parts[0] === '127';
}
