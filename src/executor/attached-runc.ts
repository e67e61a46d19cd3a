import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { missingTool } from '../process/missing-tool.js';
import { runcGlobalArgs } from './runc-args.js';
import { runtimeLogErrors } from './runtime-log.js';

/** Why runc could not start the process, which docker tells apart by exit code (127, 126, 125). */
export type StartFailure = 'not-found' | 'not-executable' | 'other';

/** What this process passes on to the container's process while it runs, as `docker run`'s sig-proxy does. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * A process that ignores SIGINT/SIGTERM (PID 1 of a namespace does unless it handles them) would
 * otherwise leave only `kill -9` of tsbuild, which leaves the container running until the next
 * sweep: the third interrupt kills it.
 */
const KILL_AFTER_INTERRUPTS = 3;

export interface AttachedRun {
  runcRoot: string;
  bundle: string;
  id: string;
  /** Our stdin goes to the process (`-i`). */
  stdin: boolean;
  /** The spec has `terminal: true`: runc relays between our terminal and the container's pty. */
  tty: boolean;
  signal?: AbortSignal;
}

/**
 * Runs a bundle under `runc run` attached to this process's stdio, and resolves with its exit
 * code (128+N when the process died of signal N), or with why it never started.
 *
 * With a terminal, runc itself relays our terminal (raw mode, window size) to the pty it makes,
 * so it inherits our stdio and stays in our process group: a background process could not put
 * the terminal into raw mode. Ctrl-C is then a byte the container's pty turns into its SIGINT.
 * Without one, runc runs in a session of its own (no controlling terminal, so the container can
 * never reach ours) and its output comes through pipes; signals this process gets are forwarded.
 * runc's own errors go to a log file too, which tells a process that could not be started from
 * one that exited 1.
 */
export function runAttached(o: AttachedRun): Promise<{ exitCode: number; startFailure?: StartFailure }> {
  const log = join(o.bundle, 'runc.log');
  const stdio: StdioOptions = o.tty
    ? // the keyboard stays connected with -t alone, so Ctrl-C reaches the process as docker's sig-proxy would
      [o.stdin || process.stdin.isTTY ? 'inherit' : 'ignore', 'inherit', 'inherit']
    : [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  const runc = (args: string[]) => spawn('runc', [...runcGlobalArgs(o.runcRoot), ...args], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    const child = spawn(
      'runc',
      [...runcGlobalArgs(o.runcRoot), '--log', log, '--log-format', 'json', 'run', '--bundle', o.bundle, o.id],
      {
        stdio,
        detached: !o.tty,
      },
    );
    if (!o.tty) {
      child.stdout!.pipe(process.stdout, { end: false });
      child.stderr!.pipe(process.stderr, { end: false });
    }
    if (child.stdin) {
      // the process may exit without reading all of it
      child.stdin.on('error', () => {});
      process.stdin.pipe(child.stdin);
    }
    let interrupts = 0;
    const kill = (): void => {
      runc(['kill', o.id, 'KILL']).on('error', () => {});
    };
    const forward = (sig: NodeJS.Signals): void => {
      if (sig === 'SIGINT' || sig === 'SIGTERM') interrupts++;
      if (interrupts >= KILL_AFTER_INTERRUPTS) {
        process.stderr.write(`tsbuild: interrupted ${interrupts} times: killing the container\n`);
        kill();
        return;
      }
      // runc forwards what it gets to the container's first process
      child.kill(sig);
    };
    const handlers = FORWARDED_SIGNALS.map((sig) => [sig, () => forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    o.signal?.addEventListener('abort', kill, { once: true });
    const detach = (): void => {
      for (const [sig, h] of handlers) process.off(sig, h);
      o.signal?.removeEventListener('abort', kill);
      if (child.stdin) {
        process.stdin.unpipe(child.stdin);
        // reading our stdin would keep this process alive after the container is gone
        process.stdin.destroy();
      }
    };
    child.on('error', (err) => {
      detach();
      const code = (err as NodeJS.ErrnoException).code;
      reject(
        code === 'ENOENT'
          ? missingTool('runc', { why: 'tsbuild runs containers in it', cause: err })
          : new Error(`could not start runc: ${err.message}`, { cause: err }),
      );
    });
    child.on('close', (code, sig) => {
      detach();
      void (async () => {
        // runc killed before it reaped the container (or a signal that came before its handler)
        if (existsSync(join(o.runcRoot, o.id)))
          await new Promise((done) => runc(['delete', '-f', o.id]).on('close', done).on('error', done));
        const exitCode = code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0);
        const startFailure = exitCode === 0 ? undefined : await startFailureIn(log);
        resolve(startFailure ? { exitCode, startFailure } : { exitCode });
      })().catch(reject);
    });
  });
}

/** What runc's log says kept the process from starting; undefined when runc logged no error (the process ran). */
export async function startFailureIn(logFile: string): Promise<StartFailure | undefined> {
  const first = runtimeLogErrors(logFile)[0];
  return first === undefined ? undefined : classifyStartError(first);
}

/**
 * runc's words for an exec that failed (`exec: "x": executable file not found in $PATH`,
 * `exec: "/x": stat /x: no such file or directory`, `exec: "/etc": permission denied`), sorted as
 * docker sorts them: not found, not executable, anything else.
 */
export function classifyStartError(message: string): StartFailure {
  const exec = /exec: "(?:[^"\\]|\\.)*": (.*)$/.exec(message)?.[1];
  if (exec === undefined) return 'other';
  if (/executable file not found|no such file or directory/.test(exec)) return 'not-found';
  if (/permission denied/.test(exec)) return 'not-executable';
  return 'other';
}
