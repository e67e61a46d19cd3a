// What the thin client (server-client.ts) and the build server (build-server.ts) say to each
// other over the server's unix socket. The client bundle loads this file and node's built-ins
// only, so nothing here may import the rest of tsbuild.
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

/**
 * Whether this command may run in the server: builds only, by root (a rootless build re-executes
 * itself in a user namespace, which the server's process cannot do for another), and never one
 * that reads the client's stdin (`-`), asks for help, or picks an isolation.
 */
export function serverEligible(args: string[], env: NodeJS.ProcessEnv, euid: number | undefined): boolean {
  if (env.TSBUILD_SERVER !== '1' || euid !== 0) return false;
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

/**
 * One server per user and installed bundle (its path and mtime): a client only ever talks to a
 * server running the same code, and a server of an older install idles out on its own.
 * Root's runtime dir is /run/tsbuild (where runc's state already lives) unless XDG_RUNTIME_DIR
 * names one.
 */
export function serverPaths(bundle: string, bundleMtimeMs: number, env: NodeJS.ProcessEnv): ServerPaths {
  const dir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'tsbuild') : '/run/tsbuild';
  const base = join(dir, `server-${fnv1a(`${bundle}\0${bundleMtimeMs}`)}`);
  return { dir, socket: `${base}.sock`, log: `${base}.log`, pid: `${base}.pid` };
}

/** Seconds a server waits for the next build before it exits (TSBUILD_SERVER_IDLE, default 15 min). */
export function idleSeconds(env: NodeJS.ProcessEnv): number {
  const n = Number(env.TSBUILD_SERVER_IDLE);
  return Number.isFinite(n) && n > 0 ? n : 900;
}
