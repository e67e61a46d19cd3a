/**
 * The build graph the frontend hands to the solver. Each vertex is one op with fully expanded
 * parameters; the solver knows nothing of Dockerfile syntax, only these ops.
 */
import type { Descriptor, DiffId } from '../image/types.js';

/** Where a base image came from, so a missing blob can be fetched again. */
export type ImageOrigin = { kind: 'registry'; ref: string } | { kind: 'oci-layout'; dir: string };

export interface ImageLayer {
  descriptor: Descriptor;
  diffId: DiffId;
}

export interface ImageSourceOp {
  type: 'image';
  /** Canonical reference, for display. */
  ref: string;
  manifestDigest: string;
  layers: ImageLayer[];
  origin: ImageOrigin;
}

export interface ScratchOp {
  type: 'scratch';
}

/** `RUN --mount=type=bind`: files from the context (selected like COPY) or another vertex. */
export interface BindMount {
  type: 'bind';
  target: string;
  /** Path inside the source (context root or the vertex's rootfs). */
  source: string;
  /** Index into the vertex's inputs; absent: the build context (or `context`). */
  input?: number;
  /** A `--build-context` directory by name, when `input` is absent. */
  context?: string;
  /** Writes land in a throwaway layer when false (BuildKit's rw bind). */
  readonly: boolean;
}

/** `type=cache`: a directory that outlives builds, shared by id, never part of a layer or a key. */
export interface CacheMount {
  type: 'cache';
  target: string;
  id: string;
  sharing: 'shared' | 'private' | 'locked';
  readonly: boolean;
  mode: number;
  uid: number;
  gid: number;
  /**
   * `from=`: index into the vertex's inputs whose rootfs seeds the cache the first time it is made
   * (a cache per id and seed, as BuildKit keys it `id:ref`); absent: an empty cache.
   */
  input?: number;
  /** `source=`: the sub-directory of the cache that is mounted; absent: the whole cache. */
  source?: string;
}

export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Bytes; undefined: the kernel default. */
  size?: number;
}

/** `type=secret`/`type=ssh`: provided by the CLI (--secret, --ssh), never part of a layer or a key. */
export interface SecretMount {
  type: 'secret' | 'ssh';
  id: string;
  /** Empty for a secret given only as an environment variable (`env=` without `target=`). */
  target: string;
  /** `env=VAR` (secrets): the value is also (or, without `target=`, only) this variable. */
  env?: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export type RunMount = BindMount | CacheMount | TmpfsMount | SecretMount;

/** `--ulimit`: an rlimit for RUN (`nofile`, …); soft and hard as decimal strings (-1: unlimited). */
export interface Ulimit {
  name: string;
  soft: string;
  hard: string;
}

export interface ExecOp {
  type: 'exec';
  args: string[];
  env: string[];
  cwd: string;
  /** As written in USER (`name`, `uid`, `name:group`), resolved against the rootfs at run time. */
  user: string;
  network: 'host' | 'none';
  /** RUN --security=insecure (needs --allow security.insecure); absent is the default sandbox. */
  security?: 'insecure';
  /** RUN --device: CDI devices by their qualified names (src/executor/cdi-devices.ts). */
  devices?: { name: string; required?: boolean }[];
  mounts?: RunMount[];
  /** Proxy variables (HTTP_PROXY…) from --build-arg: in the environment, but never in the cache key. */
  proxyEnv?: string[];
  /** Files to write into a private temp dir bind-mounted read-only (heredoc scripts). */
  files?: { path: string; content: string; mode: number }[];
  /** `--add-host`: lines of /etc/hosts after the standard ones (part of the key, as in BuildKit). */
  extraHosts?: { host: string; ip: string }[];
  /** `--shm-size`: bytes of /dev/shm (default 64 MiB). */
  shmSize?: number;
  /** `--ulimit`. */
  ulimits?: Ulimit[];
  /** BUILDKIT_SANDBOX_HOSTNAME; absent: the executor's default (`buildkitsandbox`). */
  hostname?: string;
  /**
   * The platform the command is for (`linux/arm64`), when it is not the host's: run through the
   * kernel's binfmt_misc emulator for it, and part of the key, so no other platform's record stands for it.
   */
  platform?: string;
}

/** A file the copy op takes from the build context, already selected and hashed. */
export interface ContextSource {
  kind: 'context';
  /** Patterns/paths as expanded, relative to the context root. */
  paths: string[];
  /** A `--build-context` directory by name; absent: the build's context. */
  context?: string;
}

export interface VertexSource {
  kind: 'vertex';
  /** Index into the vertex's inputs. */
  input: number;
  paths: string[];
}

export interface InlineSource {
  kind: 'inline';
  /** Heredoc body written as a file named `name` in the destination. */
  name: string;
  content: string;
}

/** ADD <http(s) URL>: one downloaded file. */
export interface UrlSource {
  kind: 'url';
  url: string;
  /** The file's name in the destination: the URL path's last component, else `__unnamed__`. */
  filename: string;
  /** --checksum (`sha256:<hex>`): the download must match it, and the cache key needs no download. */
  checksum?: string;
  /** --unpack=true: extract it when it is an archive (remote files are not extracted by default). */
  unpack: boolean;
}

/** ADD <git URL>: a repository's tree at a ref (or a directory of it). */
export interface GitSource {
  kind: 'git';
  /** The URL git fetches (without the `#ref:subdir` fragment). */
  remote: string;
  /** Branch, tag, full ref name or commit; absent: the remote's default branch. */
  ref?: string;
  /** A directory of the repository whose contents are copied. */
  subdir?: string;
  /** Commit (or commit prefix) the ref must resolve to: --checksum or `?checksum=`. */
  checksum?: string;
  /** --keep-git-dir: the checkout's .git directory is copied too. */
  keepGitDir: boolean;
  /** `?submodules=false`: the submodules are not checked out (absent: they are). */
  submodules?: false;
}

export interface CopyOp {
  type: 'copy';
  sources: (ContextSource | VertexSource | InlineSource | UrlSource | GitSource)[];
  /** Absolute destination path; ends in '/' when the user wrote it so. */
  dest: string;
  /** As written in --chown, resolved against the destination rootfs at run time. */
  chown?: string;
  /** Octal mode from --chmod. */
  chmod?: number;
  exclude: string[];
  /** COPY --from a stage preserves owners; COPY from the context makes them 0:0. */
  preserveOwner: boolean;
  /** The step's working dir, used to resolve the destination's parent when `dest` is relative. */
  cwd: string;
  /** ADD: local tar archives are extracted into the destination instead of copied. */
  unpackArchives?: boolean;
  /** Symbolic --chmod (`u=rwx,go=rx`, `+x`): applied to each copied entry's own mode. */
  chmodSymbolic?: string;
  /** --link: the layer is made in an empty directory, so it does not depend on the layers below. */
  link?: boolean;
  /** --parents: each path is `base/./rest` (or `rest`), copied with its directories below the base. */
  parents?: boolean;
}

export interface MkdirOp {
  type: 'mkdir';
  path: string;
  mode: number;
  /** Owner for the created directories (BuildKit: the USER in effect, resolved in the rootfs). */
  user?: string;
}

export type Op = ImageSourceOp | ScratchOp | ExecOp | CopyOp | MkdirOp;

export interface Vertex {
  /** Unique within the graph. */
  id: string;
  op: Op;
  /** input 0 is the rootfs the op runs on (absent for sources); copy sources index the rest. */
  inputs: Vertex[];
  /** For progress: e.g. `[build 2/4] RUN make`. */
  name: string;
  /** The stage name or index this vertex belongs to, for --no-cache-filter and display. */
  stage: string;
  /** Source location for error messages, e.g. `Dockerfile:12`. */
  location?: { file: string; line: number; column: number; excerpt?: string };
  /** Skip the cache lookup for this vertex (--no-cache, --no-cache-filter). */
  noCache?: boolean;
}

/**
 * The vertices under `root` (itself included), each after all its inputs, each once; `skip`
 * leaves a vertex and what is only under it out. Iterative: a Dockerfile of thousands of
 * steps is a chain thousands deep, and a recursive walk overflowed the stack at ~1,200.
 */
export function inputsFirst(root: Vertex, skip?: (v: Vertex) => boolean): Vertex[] {
  const order: Vertex[] = [];
  const seen = new Set<Vertex>();
  const stack: { v: Vertex; next: number }[] = [];
  const enter = (v: Vertex): void => {
    if (seen.has(v) || skip?.(v)) return;
    seen.add(v);
    stack.push({ v, next: 0 });
  };
  enter(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.v.inputs.length) enter(top.v.inputs[top.next++]!);
    else order.push(stack.pop()!.v);
  }
  return order;
}
