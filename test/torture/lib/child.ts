/**
 * The real CLI as a child whose stderr is watched line by line, so a test can wait for a phase
 * marker (`#3 [stage-0 3/3] RUN …`, `#- exporting to oci archive …`) and send a signal at a
 * chosen moment after it. A child that outlives its deadline is SIGKILLed and marked timedOut.
 */
import { spawn } from 'node:child_process';
import { ALLOW_FIXTURE_BASES, DAEMONLESS_ENV, TSBUILD } from '../../helpers/build-fixture.js';

export interface ChildOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface WatchedChild {
  readonly pid: number;
  /** stderr lines so far, each with the ms since spawn it was read at. */
  readonly lines: { text: string; at: number }[];
  /** ms since spawn when a line matching `re` was read (now or later); undefined if the child exits first. */
  waitFor(re: RegExp): Promise<number | undefined>;
  /** Whether a line matching `re` has been read already. */
  seen(re: RegExp): boolean;
  /** Sends `sig` unless the child has exited; says whether it was sent. */
  signal(sig: NodeJS.Signals): boolean;
  readonly exited: boolean;
  readonly result: Promise<ChildOutcome>;
  elapsed(): number;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** SIGKILL after this long (a hang); default 120 s. */
  timeoutMs?: number;
  /** Run in a network namespace of its own with only loopback: nothing can leave the machine. */
  isolateNetwork?: boolean;
}

/** Starts a build (granted the fixture bases, as runCli does) and watches its stderr. */
export function startCli(buildArgs: string[], opts: StartOptions = {}): WatchedChild {
  const args = [...ALLOW_FIXTURE_BASES, ...buildArgs];
  const [cmd, argv] = opts.isolateNetwork
    ? ['unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', TSBUILD, ...args]]
    : [TSBUILD, args];
  const t0 = Date.now();
  const child = spawn(cmd, argv as string[], {
    cwd: opts.cwd,
    env: { ...process.env, ...DAEMONLESS_ENV, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: { text: string; at: number }[] = [];
  const waiters: { re: RegExp; resolve(at: number | undefined): void }[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let exited = false;
  let timedOut = false;

  const onLine = (text: string): void => {
    const at = Date.now() - t0;
    lines.push({ text, at });
    for (const w of [...waiters]) {
      if (w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(at);
      }
    }
  };
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    const s = c.toString();
    stderr += s;
    const parts = (partial + s).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) onLine(p);
  });
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);

  const result = new Promise<ChildOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (partial) onLine(partial);
      exited = true;
      for (const w of waiters.splice(0)) w.resolve(undefined);
      resolve({ exitCode: code, signal: sig, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });

  return {
    pid: child.pid ?? -1,
    lines,
    get exited() {
      return exited;
    },
    result,
    elapsed: () => Date.now() - t0,
    seen: (re) => lines.some((l) => re.test(l.text)),
    waitFor(re) {
      const hit = lines.find((l) => re.test(l.text));
      if (hit) return Promise.resolve(hit.at);
      if (exited) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push({ re, resolve }));
    },
    signal(sig) {
      if (exited || child.exitCode !== null || child.signalCode !== null) return false;
      return child.kill(sig);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
