// The warm build server (on by default outside CI, TSBUILD_SERVER=0 turns it off: serverWanted in
// server-protocol.ts; see server-client.ts for the client side).
// It is the CLI itself, kept running: each request runs the same command code a daemonless
// tsbuild runs, in the client's cwd, env and umask, with process.stdout/stderr replaced by the
// client's socket. What stays warm is the loaded and compiled code, the wasm hasher, the helper
// shell and the process's memos (which are keyed so that another process's changes to the state
// dir are seen; the state dir's locks are taken per build, as without a server). One build runs
// at a time: a client that finds the server busy builds in its own process. The server exits
// after TSBUILD_SERVER_IDLE seconds without a build.
import { chmodSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { recordPeakRss } from './peak-rss.js';
import { runCli } from './run-cli.js';
import {
  type ClientMessage,
  FRAME,
  frame,
  idleSeconds,
  type ServerRequest,
  type TerminalInfo,
} from './server-protocol.js';

/** A terminal of the client, as the command's process.stdout or process.stderr. */
class ForwardedStream extends Writable {
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;

  constructor(
    private readonly sock: Socket,
    private readonly type: number,
    info: TerminalInfo,
  ) {
    super();
    this.isTTY = info.isTTY;
    this.columns = info.columns;
    this.rows = info.rows;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    // a client that went away loses the rest of the output; the build goes on to its cancellation
    if (this.sock.destroyed || !this.sock.writable) done();
    else this.sock.write(frame(this.type, chunk), () => done());
  }

  // what was written while the socket took the last frame goes in one write: a build's progress
  // is many short lines, and a socket write each cost a served build ~3 ms
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    if (this.sock.destroyed || !this.sock.writable) done();
    else this.sock.write(frame(this.type, Buffer.concat(chunks.map((c) => c.chunk))), () => done());
  }
}

function replaceEnv(env: Record<string, string>): void {
  // in place, so that node's own getenv (TZ, proxies of child processes) sees it too
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (process.env[k] !== v) process.env[k] = v;
}

function setStdio(out: NodeJS.WritableStream, err: NodeJS.WritableStream): void {
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => out });
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => err });
}

export async function serve(socketPath: string): Promise<void> {
  const ownStdout = process.stdout;
  const ownStderr = process.stderr;
  const pidFile = socketPath.replace(/\.sock$/, '.pid');
  const idleMs = idleSeconds(process.env) * 1000;
  process.chdir('/');
  let busy = false;
  let stopping = false;
  /** Set while a client's signal is passed to the build's handlers, which this process did not get. */
  let relaying = false;
  let idle: NodeJS.Timeout | undefined;
  const server = createServer();
  /** The socket file this server listens on, once it does (its inode and ctime: inode numbers are reused). */
  let ownSocket: string | undefined;
  // not server.close(): node removes the socket file then, even when it is another server's now
  const stop = (): void => {
    removeOwnFiles(socketPath, ownSocket, pidFile);
    process.exit(0);
  };
  let collect: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    idle = setTimeout(stop, idleMs);
    collect = setTimeout(collectGarbage, COLLECT_AFTER_MS);
  };
  // `kill PID`: the running build (whose own handlers see the signal too) is cancelled, then the server exits
  const onStopSignal = (): void => {
    if (relaying) return;
    stopping = true;
    if (!busy) stop();
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);

  const handle = async (req: ServerRequest, sock: Socket, messages: ClientMessage[]): Promise<void> => {
    busy = true;
    clearTimeout(idle);
    clearTimeout(collect);
    const out = new ForwardedStream(sock, FRAME.stdout, req.stdout);
    const err = new ForwardedStream(sock, FRAME.stderr, req.stderr);
    let signalled = false;
    // the build's own handlers cancel it; only the first signal is passed on, since the build
    // answers a second one with process.exit (the client leaves at once on its second Ctrl-C)
    const signal = (sig: NodeJS.Signals): void => {
      if (signalled) return;
      signalled = true;
      relaying = true;
      process.emit(sig, sig);
      relaying = false;
    };
    const onMessage = (m: ClientMessage): void => {
      if ('signal' in m) signal(m.signal);
      else if ('columns' in m) {
        err.columns = m.columns;
        err.rows = m.rows;
        err.emit('resize');
      }
    };
    const onClose = (): void => signal('SIGTERM');
    sock.on('close', onClose);
    replaceEnv(req.env);
    process.umask(req.umask);
    setStdio(out, err);
    let code = 0;
    try {
      process.chdir(req.cwd);
      messages.splice(0).forEach(onMessage);
      messages.push = (...ms: ClientMessage[]): number => {
        ms.forEach(onMessage);
        return 0;
      };
      await runCli(req.argv);
      code = Number(process.exitCode ?? 0);
    } catch (e) {
      err.write(`error: ${(e as Error).message}\n`);
      code = 70;
    } finally {
      process.exitCode = undefined;
      setStdio(ownStdout, ownStderr);
      process.chdir('/');
      sock.off('close', onClose);
    }
    // before the exit frame, so that it is in the file when the client exits; the server's peak is its lifetime's
    recordPeakRss(req.env, req.cwd);
    await new Promise<void>((resolve) => out.end(() => err.end(() => resolve())));
    const client = req.client ? ` (${req.client} client)` : '';
    ownStderr.write(`${new Date().toISOString()} build in ${req.cwd}${client} exited ${code}\n`);
    if (!sock.destroyed) sock.end(frame(FRAME.exit, String(code)));
    busy = false;
    if (stopping) stop();
    else armIdle();
  };

  server.on('connection', (sock: Socket) => {
    let buffered = '';
    let started = false;
    const messages: ClientMessage[] = [];
    sock.on('error', () => {}); // a client that left; 'close' follows
    sock.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        if (started) {
          messages.push(JSON.parse(line) as ClientMessage);
          continue;
        }
        started = true;
        if (busy) {
          sock.end(frame(FRAME.busy, ''));
          return;
        }
        void handle(JSON.parse(line) as ServerRequest, sock, messages);
      }
    });
  });

  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (!(await listen(server, socketPath))) process.exit(0); // another server answers there
  chmodSync(socketPath, 0o600); // whoever may connect runs builds as this user: only this user
  ownSocket = fileIdentity(socketPath);
  writeFileSync(pidFile, `${process.pid}\n`);
  ownStderr.write(`${new Date().toISOString()} tsbuild server ${process.pid} listening on ${socketPath}\n`);
  armIdle();
}

/** A pause after a build long enough that the user is not about to start the next one. */
const COLLECT_AFTER_MS = 2000;

/**
 * A full collection while the server waits: what a build left behind (the context's hashes,
 * records, the progress log) would otherwise stay in the heap until the next build, on top of
 * what that one needs. `gc` is not exposed without a flag at start-up; V8 gives it out later.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Listens on the socket; a socket file nobody answers on (a server that died) is replaced. */
async function listen(server: Server, socketPath: string): Promise<boolean> {
  const tryListen = (): Promise<NodeJS.ErrnoException | undefined> =>
    new Promise((resolve) => {
      server.once('error', resolve);
      server.listen(socketPath, () => {
        server.off('error', resolve);
        resolve(undefined);
      });
    });
  const first = await tryListen();
  if (!first) return true;
  if (first.code !== 'EADDRINUSE') throw first;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) return false;
  unlinkSync(socketPath);
  return !(await tryListen());
}

/**
 * Removes the socket and pid file if they are still this server's. A server whose socket file was
 * taken from it (removed, and another server listens there now: a client found no socket and
 * started one) must leave the new server's files, or that one would be unreachable until it idles out.
 */
function removeOwnFiles(socketPath: string, ownSocket: string | undefined, pidFile: string): void {
  const removeIf = (f: string, isOwn: () => boolean): void => {
    try {
      if (isOwn()) unlinkSync(f);
    } catch {} // gone already
  };
  removeIf(socketPath, () => ownSocket !== undefined && fileIdentity(socketPath) === ownSocket);
  removeIf(pidFile, () => Number(readFileSync(pidFile, 'utf8')) === process.pid);
}

function fileIdentity(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.ctimeNs}`;
}
