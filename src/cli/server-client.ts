// The thin client: bin/tsbuild.cjs loads this (its own small bundle, dist/bundle/client.cjs)
// before the full CLI and, where serverEligible says so, hands a build to the user's warm server. It
// forwards argv, env, cwd, umask and the terminals' sizes, relays Ctrl-C, and writes back what
// the build printed and its exit code. When no server answers (or it is busy with another
// build), the caller runs the build itself as without a server; a missing server is started
// for the next build, in the background.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { FRAME, FrameReader, type ServerPaths, type ServerRequest, serverPaths } from './server-protocol.js';

const EXIT_INTERRUPTED = 130;
/** sun_path holds 108 bytes with its NUL; node cuts a longer path silently and would bind another file. */
const SOCKET_PATH_MAX = 107;

/** Exit code of the build the server ran, or undefined: run it in this process instead. */
export function runThroughServer(args: string[], entry: string, installId: string): Promise<number | undefined> {
  const paths = serverPaths(installId, process.env);
  if (Buffer.byteLength(paths.socket) > SOCKET_PATH_MAX) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const sock = connect(paths.socket);
    let started = false;
    let done = false;
    let signals = 0;
    const reader = new FrameReader();
    const send = (m: object): void => {
      if (!sock.destroyed) sock.write(`${JSON.stringify(m)}\n`);
    };
    const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
      // the first asks the server to cancel the build; the second leaves at once, as daemonless does
      if (++signals > 1) process.exit(EXIT_INTERRUPTED);
      send({ signal: sig });
    };
    const onResize = (): void => send({ columns: process.stderr.columns, rows: process.stderr.rows });
    const finish = (code: number | undefined): void => {
      done = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stderr.off?.('resize', onResize);
      sock.destroy();
      resolve(code);
    };
    sock.on('connect', () => {
      started = true;
      const req: ServerRequest = {
        argv: ['node', entry, ...args],
        env: process.env as Record<string, string>,
        cwd: process.cwd(),
        umask: process.umask(),
        stdout: { isTTY: process.stdout.isTTY === true, columns: process.stdout.columns, rows: process.stdout.rows },
        stderr: { isTTY: process.stderr.isTTY === true, columns: process.stderr.columns, rows: process.stderr.rows },
      };
      sock.write(`${JSON.stringify(req)}\n`);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (process.stderr.isTTY) process.stderr.on('resize', onResize);
    });
    sock.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.type === FRAME.stdout) process.stdout.write(f.payload);
        else if (f.type === FRAME.stderr) process.stderr.write(f.payload);
        else if (f.type === FRAME.exit) return finish(Number(f.payload.toString('utf8')));
        else if (f.type === FRAME.busy) return finish(undefined);
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (started) return; // 'close' reports it
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') startServer(paths, entry);
      finish(undefined);
    });
    sock.on('close', () => {
      if (!started || done) return;
      // the server went away mid-build (killed, or crashed: its log says why)
      process.stderr.write(`error: the tsbuild server stopped during the build; its log is ${paths.log}\n`);
      finish(signals > 0 ? EXIT_INTERRUPTED : 70);
    });
  });
}

/** Starts a server in its own session, logging to its log file; it outlives this process. */
function startServer(paths: ServerPaths, entry: string): void {
  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    const log = openSync(paths.log, 'a', 0o600);
    const child = spawn(process.execPath, [entry], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: '/',
      env: { ...process.env, TSBUILD_SERVE_SOCKET: paths.socket },
    });
    child.unref();
    closeSync(log);
  } catch {
    // no runtime dir or no log: this build and the next run without a server
  }
}
