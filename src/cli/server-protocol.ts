// What the thin client (server-client.ts) and the build server (build-server.ts) say to each
// other over the server's unix socket. The client bundle loads this file and node's built-ins
// only, so nothing here may import the rest of tsbuild.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SUBCOMMANDS } from './subcommands.js';

/** The client's one request: the command as it would have run in the client's process. */
export interface ServerRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  umask: number;
  stdout: TerminalInfo;
  stderr: TerminalInfo;
  /** Which client sent it: bin/tsbuild-client.pl says "perl" (the server's log shows it). */
  client?: string;
}

export interface TerminalInfo {
  isTTY: boolean;
  columns?: number;
  rows?: number;
}

/** After the request, the client sends JSON lines: a signal it got, or its terminal's new size. */
export type ClientMessage = { signal: 'SIGINT' | 'SIGTERM' } | { columns: number; rows?: number };

/** Server → client frames: one type byte, a 32-bit big-endian length, the payload. */
export const FRAME = { stdout: 1, stderr: 2, exit: 3, busy: 4 } as const;

export function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Cuts a byte stream into frames; `push` returns the complete frames and keeps the rest. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: { type: number; payload: Buffer }[] = [];
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + len) break;
      frames.push({ type: this.pending[0]!, payload: this.pending.subarray(5, 5 + len) });
      this.pending = this.pending.subarray(5 + len);
    }
    return frames;
  }
}

/** An environment variable that is set to something other than a "no" ('', 'false', '0'). */
const isSet = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== 'false' && v !== '0';

/**
 * CI services that do not set CI, by a variable each always sets: Jenkins, Azure Pipelines,
 * TeamCity, AWS CodeBuild.
 */
const CI_MARKERS = ['JENKINS_URL', 'TF_BUILD', 'TEAMCITY_VERSION', 'CODEBUILD_BUILD_ID'];

/** Whether the environment says this is a CI job. */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  return isSet(env.CI) || CI_MARKERS.some((v) => isSet(env[v]));
}

/**
 * Whether the user wants builds handed to the server: TSBUILD_SERVER=1 always, TSBUILD_SERVER=0
 * never, and unset it is on except in CI. CI runs daemonless (nothing left running after a job,
 * no state in memory between builds), and most CI services say so with CI=true (GitHub Actions,
 * GitLab CI, CircleCI, Travis, Buildkite…).
 */
export function serverWanted(env: NodeJS.ProcessEnv): boolean {
  const setting = env.TSBUILD_SERVER;
  if (setting === undefined || setting === '') return !inCi(env);
  return isSet(setting);
}

/**
 * Whether this command may run in the server: builds only, by root (a rootless build re-executes
 * itself in a user namespace, which the server's process cannot do for another), and never one
 * that reads the client's stdin (`-`), asks for help, or picks an isolation.
 */
export function serverEligible(args: string[], env: NodeJS.ProcessEnv, euid: number | undefined): boolean {
  if (euid !== 0 || !serverWanted(env)) return false;
  // other subcommands never go through the server: they are quick, or talk to the terminal
  if (args.length === 0 || SUBCOMMANDS.has(args[0]!) || args[0] === 'help') return false;
  return !args.some(
    (a) =>
      a === '-' ||
      a.endsWith('=-') ||
      a === '-h' ||
      a === '--help' ||
      a === '-V' ||
      a === '--version' ||
      a.startsWith('--isolation'),
  );
}

/** FNV-1a of a string, in hex: names one installed bundle without loading node:crypto. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export interface ServerPaths {
  dir: string;
  socket: string;
  log: string;
  pid: string;
}

const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'];

/**
 * The namespaces this process runs in ("net:[4026531840]"…). A server runs its builds in the
 * namespaces of the client that started it, so a client in others must not be handed to it: a
 * server started under `unshare --net` would give every later build a network with nothing in it.
 */
export function namespaceIds(): string {
  return NAMESPACES.map((ns) => {
    try {
      return readlinkSync(`/proc/self/ns/${ns}`);
    } catch {
      return `${ns}:?`; // no /proc, or a kernel without that namespace: the same for every client
    }
  }).join(' ');
}

/**
 * One server per user, build of the bundle (`installId`: the random id `npm run bundle` writes in
 * dist/bundle/client-info) and set of namespaces: a client only ever talks to a server running the
 * same code in the same namespaces, and a server of an older build idles out on its own. Root's
 * runtime dir is /run/tsbuild (where runc's state already lives) unless XDG_RUNTIME_DIR names one.
 * bin/tsbuild-client.pl computes the same paths: keep the two alike.
 */
export function serverPaths(
  installId: string,
  env: NodeJS.ProcessEnv,
  namespaces: string = namespaceIds(),
): ServerPaths {
  const dir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'tsbuild') : '/run/tsbuild';
  const base = join(dir, `server-${fnv1a(`${installId}\0${namespaces}`)}`);
  return { dir, socket: `${base}.sock`, log: `${base}.log`, pid: `${base}.pid` };
}

/** Seconds a server waits for the next build before it exits (TSBUILD_SERVER_IDLE, default 15 min). */
export function idleSeconds(env: NodeJS.ProcessEnv): number {
  const n = Number(env.TSBUILD_SERVER_IDLE);
  return Number.isFinite(n) && n > 0 ? n : 900;
}
