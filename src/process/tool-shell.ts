import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/**
 * A long-lived bash that starts system tools for us. Node forks its whole address space for each
 * child_process.spawn, on the main thread: ~1.5 ms at start-up size and ~5 ms once a build has
 * grown the heap, and a COPY step spawns mount and umount, an export one getfattr per layer.
 * bash forks from a few megabytes instead, in its own process, while the build goes on. (runc is
 * still spawned directly: started from here, with its output polled from files, a RUN step was
 * no faster.)
 *
 * One request is one line of shell: `( cmd args <in >out 2>err; echo "<id> $?" >&3 ) &`, run as
 * a background job so requests overlap; the exit status comes back on fd 3 and the output in two
 * files. The shell is in its own process group, so a Ctrl-C at the terminal reaches tsbuild (which
 * cleans up, through this shell) and not the shell itself.
 */
export interface ShellResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Longer lines go to a plain spawn: bash reads a line one byte per read(2). */
const MAX_LINE = 16 * 1024;

/** The shell could not be started (no bash?): the request never ran, a plain spawn may run it. */
export class ToolShellUnavailable extends Error {}

interface Pending {
  resolve(r: ShellResult): void;
  reject(e: Error): void;
  files: string[];
}

class ToolShell {
  private readonly child: ChildProcess;
  private readonly input: Writable;
  /** Prefix of the files a request's output goes to, removed as soon as it is read. */
  private readonly prefix: string;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private buffered = '';
  /** A ref'd timer while requests are out: the shell itself never keeps node alive. */
  private keepAlive: NodeJS.Timeout | undefined;
  dead = false;
  private started = false;

  constructor(env: NodeJS.ProcessEnv) {
    // No directory of its own: a process killed without an exit event (a test runner's worker)
    // would leave it behind. Files are per request and gone once answered.
    this.prefix = join(tmpdir(), `tsbuild-tool-${process.pid}-${randomBytes(4).toString('hex')}-`);
    // When tsbuild dies (even by SIGKILL) the loop reads EOF; the shell then waits for its jobs
    // and removes their output files ($1 is the prefix), which nobody is left to read.
    const loop = `trap 'wait; rm -f -- "$1"*' EXIT; trap exit TERM; while IFS= read -r line; do eval "$line"; done`;
    this.child = spawn('bash', ['--noprofile', '--norc', '-c', loop, 'bash', this.prefix], {
      env,
      cwd: '/',
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
      detached: true,
    });
    this.input = this.child.stdin!;
    const replies = this.child.stdio[3] as Readable;
    replies.setEncoding('latin1');
    replies.on('data', (chunk: string) => this.onReplies(chunk));
    this.input.on('error', () => this.fail(new Error('the tool shell stopped reading')));
    this.child.on('spawn', () => (this.started = true));
    this.child.on('error', (err) => this.fail(this.started ? err : new ToolShellUnavailable(err.message)));
    this.child.on('exit', (code, signal) =>
      this.fail(new Error(`the tool shell exited (${signal ?? `code ${code}`})`)),
    );
    this.child.unref();
    (this.input as unknown as { unref?(): void }).unref?.();
    (replies as unknown as { unref?(): void }).unref?.();
    process.once('exit', () => this.child.kill());
  }

  run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string }): Promise<ShellResult> | undefined {
    const id = ++this.next;
    const base = `${this.prefix}${id}`;
    const files = [`${base}.out`, `${base}.err`];
    let stdin = '/dev/null';
    if (opts.input !== undefined) {
      stdin = `${base}.in`;
      files.push(stdin);
    }
    const command = [cmd, ...args].map(quote).join(' ');
    const line = `(${opts.cwd ? ` cd -- ${quote(opts.cwd)} &&` : ''} ${command} <${quote(stdin)} >${quote(files[0]!)} 2>${quote(files[1]!)}; echo "${id} $?" >&3 ) &\n`;
    if (line.length > MAX_LINE || line.includes('\0')) return undefined;
    if (opts.input !== undefined) writeFileSync(stdin, opts.input);
    return new Promise<ShellResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, files });
      this.keepAlive ??= setInterval(() => {}, 1 << 30);
      this.input.write(line);
    });
  }

  private onReplies(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const [id, code] = this.buffered.slice(0, nl).split(' ').map(Number);
      this.buffered = this.buffered.slice(nl + 1);
      const p = this.pending.get(id!);
      if (!p) continue;
      this.settle(id!);
      try {
        const stdout = readFileSync(p.files[0]!);
        const stderr = readFileSync(p.files[1]!, 'utf8').trim();
        p.resolve({ code: code!, stdout, stderr });
      } catch (err) {
        p.reject(err as Error);
      } finally {
        for (const f of p.files) rmSync(f, { force: true });
      }
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** Ends the shell once its requests are answered (the loop waits for its jobs on EOF). */
  stop(): void {
    this.dead = true;
    this.input.end();
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      for (const f of p.files) rmSync(f, { force: true });
      p.reject(err);
    }
  }
}

/** Single-quoted for bash: nothing inside is special but the quote itself. */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

let shell: ToolShell | undefined;
/** What of the environment the shell was started with decides where tools and its files are. */
let shellEnv = '';
const envKey = (): string => `${process.env.PATH}\0${process.env.TMPDIR}`;

/**
 * Runs `cmd args` through the shared tool shell (started on first use, again if it died), or
 * returns undefined when the request must be a plain spawn instead (a very long command line).
 * LC_ALL=C keeps the tools' messages and escaping independent of the user's locale.
 */
export function runInToolShell(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: Buffer | string },
): Promise<ShellResult> | undefined {
  // the build server (cli/build-server.ts) runs builds with each client's env: a new PATH, a new shell
  if (shell && !shell.dead && envKey() !== shellEnv) shell.stop();
  if (!shell || shell.dead) {
    shell = new ToolShell({ ...process.env, LC_ALL: 'C' });
    shellEnv = envKey();
  }
  return shell.run(cmd, args, opts);
}
