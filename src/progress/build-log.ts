import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOutcome, SolverEvent } from '../solver/events.js';
import { isOwnerAlive, ownerToken } from '../store/owner.js';

/** What a build was asked to do: the first line of its log. */
export interface BuildLogHeader {
  type: 'build';
  id: string;
  time: number;
  /** The process writing it: a log without a result whose owner is gone was killed. */
  owner: string;
  context: string;
  dockerfile?: string;
  target?: string;
  tags: string[];
}

/** One build as `tsbuild history` lists it. */
export interface BuildSummary {
  id: string;
  started: number;
  context: string;
  dockerfile?: string;
  target?: string;
  tags: string[];
  state: 'completed' | 'error' | 'canceled' | 'running' | 'killed';
  /** Absent while it runs, or for a killed build. */
  durationMs?: number;
  outcome?: BuildOutcome;
}

/** How many builds' logs are kept, and how many bytes all of them may take. Oldest go first. */
export const KEEP_BUILDS = 50;
export const KEEP_BYTES = 100 << 20;
/** A single build's log stops taking output past this (and says so): one runaway step cannot fill the disk. */
export const MAX_LOG_BYTES = 64 << 20;

const SUFFIX = '.jsonl';
const FLUSH_MS = 100;

/**
 * A build's full log: its header, then every solver event as one JSON line, appended as the
 * build runs (a killed build's log holds everything up to the kill), in a file of its own
 * (`<id>.jsonl`, created exclusively: two builds never share one). `tsbuild history logs`
 * renders it again with the plain renderer, so nothing is ever clipped.
 */
export class BuildLog {
  private bytes = 0;
  private full = false;
  /**
   * Lines not yet handed to the stream: a step makes several events, and one write per event was
   * ~3 ms of a 30-step no-op build. Flushed at most FLUSH_MS apart, so a killed build loses that
   * much of its log at worst.
   */
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly id: string,
    private readonly out: WriteStream,
  ) {
    // a full disk must not fail the build: the log is a record, not a result
    out.on('error', () => {});
  }

  /** Starts a build's log in `dir`, after dropping the oldest logs past the bounds. */
  static async open(dir: string, build: Omit<BuildLogHeader, 'type' | 'id' | 'time' | 'owner'>): Promise<BuildLog> {
    await mkdir(dir, { recursive: true });
    await trimBuildLogs(dir, KEEP_BUILDS - 1, KEEP_BYTES);
    const id = newBuildId();
    const out = createWriteStream(join(dir, id + SUFFIX), { flags: 'wx' });
    const log = new BuildLog(id, out);
    log.line({ type: 'build', id, time: Date.now(), owner: ownerToken(), ...build } satisfies BuildLogHeader);
    // at once: `tsbuild history` lists a running build by its header
    log.flush();
    return log;
  }

  write(e: SolverEvent): void {
    if (this.full && e.type === 'vertex.log') return;
    if (e.type === 'vertex.log' && this.bytes > MAX_LOG_BYTES) {
      this.full = true;
      this.line({
        type: 'warning',
        time: e.time,
        message: `the build log passed ${MAX_LOG_BYTES >> 20} MiB: steps' output from here on is not kept`,
      } satisfies SolverEvent);
      return;
    }
    this.line(e);
  }

  private line(value: object): void {
    const text = `${JSON.stringify(value)}\n`;
    this.bytes += text.length;
    this.pending.push(text);
    // unref: a pending flush never holds the process; close() writes what is left
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length) this.out.write(this.pending.join(''));
    this.pending = [];
  }

  /** Waits until every line is in the file. */
  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.out.end(resolve));
  }
}

/** buildx's history IDs are 25 lowercase letters and digits; these are 20, random. */
function newBuildId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length]).join('');
}

interface LogFile {
  id: string;
  path: string;
  mtimeMs: number;
  size: number;
}

async function logFiles(dir: string): Promise<LogFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files = await Promise.all(
    names
      .filter((n) => n.endsWith(SUFFIX))
      .map(async (n) => {
        const path = join(dir, n);
        const s = await stat(path).catch(() => undefined);
        return s ? { id: n.slice(0, -SUFFIX.length), path, mtimeMs: s.mtimeMs, size: s.size } : undefined;
      }),
  );
  // newest first: a log is written to until its build ends
  return files.filter((f): f is LogFile => f !== undefined).sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/** Keeps the newest `keep` logs while they take at most `maxBytes` together; removes the rest. */
export async function trimBuildLogs(dir: string, keep: number, maxBytes: number): Promise<void> {
  let total = 0;
  const files = await logFiles(dir);
  await Promise.all(
    files.map((f, i) => {
      total += f.size;
      return i < keep && total <= maxBytes ? undefined : unlink(f.path).catch(() => {});
    }),
  );
}

/** The builds whose logs are kept, newest first. */
export async function listBuilds(dir: string): Promise<BuildSummary[]> {
  const files = await logFiles(dir);
  const builds = await Promise.all(files.map((f) => summarize(f).catch(() => undefined)));
  return builds.filter((b): b is BuildSummary => b !== undefined).sort((a, b) => b.started - a.started);
}

/** The header (first line) and the result (last line) of one log, without reading all between. */
async function summarize(f: LogFile): Promise<BuildSummary | undefined> {
  const fh = await open(f.path, 'r');
  try {
    const headBuf = Buffer.alloc(Math.min(f.size, 64 << 10));
    await fh.read(headBuf, 0, headBuf.length, 0);
    const head = parseLine(headBuf.toString('utf8').split('\n')[0] ?? '') as BuildLogHeader | undefined;
    if (head?.type !== 'build') return undefined;
    const tailLen = Math.min(f.size, 64 << 10);
    const tailBuf = Buffer.alloc(tailLen);
    await fh.read(tailBuf, 0, tailLen, f.size - tailLen);
    const last = parseLine(tailBuf.toString('utf8').trimEnd().split('\n').at(-1) ?? '') as SolverEvent | undefined;
    const summary: BuildSummary = {
      id: head.id,
      started: head.time,
      context: head.context,
      ...(head.dockerfile ? { dockerfile: head.dockerfile } : {}),
      ...(head.target ? { target: head.target } : {}),
      tags: head.tags,
      state: isOwnerAlive(head.owner) ? 'running' : 'killed',
    };
    if (last?.type === 'result') {
      summary.durationMs = last.durationMs;
      summary.outcome = last.result;
      summary.state = last.result.ok ? 'completed' : last.result.interrupted ? 'canceled' : 'error';
    }
    return summary;
  } finally {
    await fh.close();
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * The log of build `id` (a unique prefix will do), or of the newest build when `id` is absent:
 * its header and its events in order. Undefined when no such build is kept.
 */
export async function readBuildLog(
  dir: string,
  id?: string,
): Promise<{ header: BuildLogHeader; events: SolverEvent[] } | 'ambiguous' | undefined> {
  const builds = await listBuilds(dir);
  const found = id === undefined ? builds.slice(0, 1) : builds.filter((b) => b.id.startsWith(id));
  if (found.length > 1) return 'ambiguous';
  if (!found[0]) return undefined;
  const text = await readFile(join(dir, found[0].id + SUFFIX), 'utf8');
  const [first, ...rest] = text.split('\n');
  const events = rest.map(parseLine).filter((e): e is SolverEvent => typeof e === 'object' && e !== null);
  return { header: parseLine(first ?? '') as BuildLogHeader, events };
}
