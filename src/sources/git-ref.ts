/**
 * Which ADD sources are git repositories, and what they ask for (BuildKit's dfgitutil.ParseGitRef
 * over gitutil.ParseURL): `git://…`, `ssh://…`, `user@host:path` (scp form) are always git; an
 * http(s) URL is git only when its path ends in `.git`. The fragment is `#ref:subdir` (or the CSV
 * form `##ref=…,subdir=…,commit=…`); the query may carry ref, tag, branch, subdir, commit or
 * checksum, keep-git-dir and submodules.
 *
 * A build context takes two more forms (`{ context: true }`): `github.com/owner/repo`, which
 * BuildKit still accepts for contexts only (deprecated: it looks like a local path), and
 * `file://PATH`, a repository on this machine, which BuildKit refuses ("invalid protocol") and
 * tsbuild takes because git itself fetches from it (docs/design-deviations.md).
 */
import { UserError } from '../errors.js';

export interface GitRef {
  /** What git fetches: the URL without fragment and query. */
  remote: string;
  /** Branch, tag, full ref or commit; absent: the default branch. */
  ref?: string;
  subdir?: string;
  /** The commit (or a prefix of it) the ref must resolve to. */
  checksum?: string;
  keepGitDir?: boolean;
  submodules?: boolean;
}

const GIT_SCHEMES = new Set(['http', 'https', 'ssh', 'git']);
const SCP_FORM = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(.*?)(?:#(.*))?$/;

/** A whole commit hash (SHA-1 or SHA-256): checked out as it is; a shorter one only checks what a ref resolves to. */
const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function bad(src: string, why: string): UserError {
  return new UserError(`invalid git source "${src}": ${why}`, {
    hint: 'write a git source as https://host/repo.git#ref:subdir (or git@host:repo.git#ref, git://host/repo.git#ref)',
  });
}

/** The git source `src` names, or undefined when it is a local path or a plain (non-git) URL. */
export function parseGitRef(src: string, opts: { context?: boolean } = {}): GitRef | undefined {
  if (src.startsWith('./') || src.startsWith('../')) return undefined;
  if (src.startsWith('github.com/')) return opts.context ? parseUrl(`https://${src}`, opts, false) : undefined;
  return parseUrl(src, opts, true);
}

function parseUrl(src: string, opts: { context?: boolean }, httpNeedsGitSuffix: boolean): GitRef | undefined {
  const hashAt = src.indexOf('#');
  const beforeFragment = hashAt < 0 ? src : src.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : src.slice(hashAt + 1);
  const scheme = /^([A-Za-z0-9]+):\/\//.exec(src)?.[1]?.toLowerCase();
  let remote: string;
  let query = '';
  if (scheme !== undefined) {
    if (!GIT_SCHEMES.has(scheme) && !(opts.context && scheme === 'file')) return undefined;
    const q = beforeFragment.indexOf('?');
    remote = q < 0 ? beforeFragment : beforeFragment.slice(0, q);
    query = q < 0 ? '' : beforeFragment.slice(q + 1);
    if ((scheme === 'http' || scheme === 'https') && httpNeedsGitSuffix) {
      let path: string;
      try {
        path = new URL(remote).pathname;
      } catch {
        return undefined;
      }
      if (!path.endsWith('.git')) return undefined;
    }
  } else {
    const m = SCP_FORM.exec(src);
    if (!m) return undefined;
    remote = `${m[1]}@${m[2]}:${m[3]}`;
  }
  const ref: GitRef = { remote };
  applyFragment(src, fragment, ref);
  if (query !== '') applyQuery(src, query, ref);
  return ref;
}

/** What a `#ref:subdir` (or `##ref=…,subdir=…,commit=…`) fragment asks for, into `ref`. */
export function applyFragment(src: string, fragment: string, ref: GitRef): void {
  if (fragment === '') return;
  if (!fragment.startsWith('#')) {
    const colon = fragment.indexOf(':');
    const name = colon < 0 ? fragment : fragment.slice(0, colon);
    const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
    if (name) ref.ref = name;
    if (subdir) ref.subdir = subdir;
    return;
  }
  for (const field of fragment.slice(1).split(',').filter(Boolean)) {
    const eq = field.indexOf('=');
    if (eq < 0) throw bad(src, `invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1);
    if (key === 'ref') ref.ref = value;
    else if (key === 'subdir') ref.subdir = value;
    else if (key === 'commit') ref.checksum = value;
    else throw bad(src, `unexpected key '${key}' in '${field}' (supported keys: ref, commit, subdir)`);
  }
  // a full commit is what to check out; a short one (BuildKit allows it) only checks the default branch's
  if (ref.checksum && !ref.ref && FULL_COMMIT.test(ref.checksum)) ref.ref = ref.checksum;
}

function applyQuery(src: string, query: string, ref: GitRef): void {
  const params = new URLSearchParams(query);
  let tag = '';
  let branch = '';
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) continue;
    seen.add(key);
    const values = params.getAll(key);
    if (values.length > 1) throw bad(src, `query "${key}" has multiple values`);
    const value = values[0]!;
    const flag = (what: string): boolean => {
      if (value === '') return true;
      if (/^(1|t|true|TRUE|True)$/.test(value)) return true;
      if (/^(0|f|false|FALSE|False)$/.test(value)) return false;
      throw bad(src, `invalid ${what} value: "${value}"`);
    };
    if (value === '' && key !== 'submodules' && key !== 'keep-git-dir') throw bad(src, `query "${key}" has no value`);
    switch (key) {
      case 'ref':
        if (ref.ref && ref.ref !== value) throw bad(src, `ref conflicts: "${ref.ref}" vs "${value}"`);
        ref.ref = value;
        break;
      case 'tag':
        tag = value;
        break;
      case 'branch':
        branch = value;
        break;
      case 'subdir':
        if (ref.subdir && ref.subdir !== value) throw bad(src, `subdir conflicts: "${ref.subdir}" vs "${value}"`);
        ref.subdir = value;
        break;
      case 'checksum':
      case 'commit':
        ref.checksum = value;
        break;
      case 'keep-git-dir':
        ref.keepGitDir = flag(key);
        break;
      case 'submodules':
        ref.submodules = flag(key);
        break;
      default:
        throw bad(src, `unexpected query "${key}"`);
    }
  }
  const pin = (full: string): void => {
    if (ref.ref && ref.ref !== full) throw bad(src, `ref conflicts: "${ref.ref}" vs "${full}"`);
    ref.ref = full;
  };
  if (tag) pin(tag.startsWith('refs/tags/') ? tag : `refs/tags/${tag}`);
  if (branch) {
    if (tag) throw bad(src, 'branch conflicts with tag');
    pin(branch.startsWith('refs/heads/') ? branch : `refs/heads/${branch}`);
  }
  if (ref.checksum && !ref.ref && FULL_COMMIT.test(ref.checksum)) ref.ref = ref.checksum;
}
