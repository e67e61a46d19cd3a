import { readFileSync } from 'node:fs';

/**
 * Who owns a temp file, mount or lease in the state directory: this process, named so that
 * another process can tell later whether its owner still runs. A pid alone is not enough (pids
 * are reused, and restart after a reboot), so the token also holds the process start time and
 * the boot id: `<boot>.<pid>.<starttime>`.
 */
export interface Owner {
  boot: string;
  pid: number;
  start: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 8);
  } catch {
    return 'noboot';
  }
}

/** Fields 3 onwards of /proc/PID/stat; undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined when the process is gone. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

let self: Owner | undefined;
let currentBoot: string | undefined;

export function selfOwner(): Owner {
  self ??= { boot: (currentBoot ??= bootId()), pid: process.pid, start: processStartTime(process.pid) ?? '0' };
  return self;
}

export function ownerToken(o: Owner = selfOwner()): string {
  return `${o.boot}.${o.pid}.${o.start}`;
}

const TOKEN = /^([a-z0-9]+)\.(\d+)\.(\d+)$/;

export function parseOwnerToken(token: string): Owner | undefined {
  const m = TOKEN.exec(token);
  return m ? { boot: m[1]!, pid: Number(m[2]), start: m[3]! } : undefined;
}

/**
 * True while process `pid` runs and, when `start` is given, is the one that started then (field 22
 * of /proc/PID/stat), not a later process with its pid. A process its parent has not reaped yet
 * is a zombie: it holds nothing any more.
 */
export function processRunning(pid: number, start?: string): boolean {
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return false;
  return start === undefined || fields[19] === start;
}

/** True while the process that made `token` still runs (false for a malformed token). */
export function isOwnerAlive(token: string): boolean {
  const o = parseOwnerToken(token);
  if (!o) return false;
  currentBoot ??= bootId();
  if (o.boot !== currentBoot) return false;
  return processRunning(o.pid, o.start);
}

/** Finds an owner token inside a file name such as `.pending-<token>-<id>-<rand>`. */
export function ownerInName(name: string): string | undefined {
  return /([a-z0-9]+\.\d+\.\d+)/.exec(name)?.[1];
}
