/**
 * What the build server tests share: a test's runtime dir (its XDG_RUNTIME_DIR) holds its
 * servers' sockets, pid files and logs under `tsbuild/`; the context every test builds; waiting
 * on a server with its logs in the failure.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../torture/lib/child.js';
import { FROM_BASE } from './build-fixture.js';

/** The `server-*<ext>` files (.log, .pid, .sock) of the servers started with runtime dir `runtime`. */
export function serverFiles(runtime: string, ext: string): string[] {
  const d = join(runtime, 'tsbuild');
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => f.startsWith('server-') && f.endsWith(ext))
        .map((f) => join(d, f))
    : [];
}

/** Every log of those servers, one after the other. */
export function serverLogs(runtime: string): string {
  return serverFiles(runtime, '.log')
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
}

/** The builds a server log says it ran to the end. */
export const servedBuilds = (log: string): number => (log.match(/ build in .* exited /g) ?? []).length;

/** Polls `ok` every 50 ms for `ms`; on timeout, throws with what `logs` returns then. */
export async function waitFor(what: string, ok: () => boolean, logs: () => string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; server logs:\n${logs()}`);
    await sleep(50);
  }
}

/** Whether `pid` exists (a zombie counts: a server's own exit is what is waited for). */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The context the server tests build: a COPY and a RUN, so both reach the server's snapshots. */
export async function writeServerContext(context: string): Promise<void> {
  await mkdir(context, { recursive: true });
  await writeFile(
    join(context, 'Dockerfile'),
    `FROM ${FROM_BASE}\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt && echo built\n`,
  );
  await writeFile(join(context, 'a.txt'), 'one\n');
}
