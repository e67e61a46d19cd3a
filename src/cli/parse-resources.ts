/**
 * The classic `docker build` flags that limit every RUN (`--memory`, `--memory-swap`, `--cpus`,
 * `--cpu-quota`, `--cpu-period`, `--cpu-shares`, `--cpuset-cpus`, `--cpuset-mems`,
 * `--cgroup-parent`), parsed as the docker CLI parses them and checked as dockerd checks them
 * (daemon/daemon_unix.go), with dockerd's words.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UserError } from '../errors.js';
import type { StepResources } from '../executor/resources.js';

export interface ResourceFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cgroupParent?: string;
}

/** What the host offers this process: its CPU count and the CPUs and memory nodes it may use. */
export interface HostCpus {
  count: number;
  cpus: Set<number>;
  mems: Set<number>;
  cpusText: string;
  memsText: string;
}

const RAM_UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40, p: 2 ** 50 };

/** dockerd's smallest --memory (linuxMinMemory). */
const MIN_MEMORY = 6 * 1024 * 1024;
/** The kernel's range of cpu.shares, which dockerd clamps to. */
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

function invalid(value: string, flag: string, why: string): UserError {
  return new UserError(`invalid argument "${value}" for "${flag}" flag: ${why}`);
}

/** docker's RAMInBytes (go-units): `32m`, `1.5g`, `512MiB`, `100` (bytes); binary units. */
export function ramInBytes(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw invalid(value, flag, `invalid size: '${value}'`);
  return Math.floor(Number.parseFloat(m[1]!) * RAM_UNITS[(m[2] ?? '').toLowerCase()]!);
}

/** A whole number, as the docker CLI's int64 flags take it. */
function int(value: string, flag: string): number {
  if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw invalid(value, flag, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

/** docker's NanoCPUs: a decimal number of CPUs, to at most nine decimal places. */
export function parseNanoCpus(value: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || (m[2] === '' && !m[3])) throw invalid(value, '--cpus', `failed to parse ${value} as a rational number`);
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw invalid(value, '--cpus', 'value is too precise');
  const nano = Number(m[2] || '0') * 1e9 + Number(fraction.padEnd(9, '0'));
  return m[1] === '-' ? -nano : nano;
}

/** docker's ParseUintList: `0-3,5`, the numbers it names (undefined when it does not parse). */
export function parseUintList(value: string): Set<number> | undefined {
  const out = new Set<number>();
  if (value === '') return out;
  for (const part of value.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/** This process's CPUs and memory nodes (/proc/self/status), as dockerd reads the host's. */
export function hostCpus(): HostCpus {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // no /proc: only the CPU count is known
  }
  const count = availableParallelism();
  const cpusText = /^Cpus_allowed_list:\s*(\S*)$/m.exec(status)?.[1] ?? `0-${count - 1}`;
  const memsText = /^Mems_allowed_list:\s*(\S*)$/m.exec(status)?.[1] ?? '0';
  return {
    count,
    cpus: parseUintList(cpusText) ?? new Set(),
    mems: parseUintList(memsText) ?? new Set(),
    cpusText,
    memsText,
  };
}

function cpuset(value: string, what: 'cpus' | 'mems', host: HostCpus): string {
  const wanted = parseUintList(value);
  if (!wanted) throw new UserError(`Invalid value ${value} for cpuset ${what}`, { hint: 'a list such as 0-2,5' });
  const available = what === 'cpus' ? host.cpus : host.mems;
  if ([...wanted].some((n) => !available.has(n))) {
    const text = what === 'cpus' ? host.cpusText : host.memsText;
    throw new UserError(
      what === 'cpus'
        ? `Requested CPUs are not available - requested ${value}, available: ${text}`
        : `Requested memory nodes are not available - requested ${value}, available: ${text}`,
    );
  }
  return value;
}

/** The limits the flags set for every RUN, or undefined when none is given. */
export function parseResources(flags: ResourceFlags, host: () => HostCpus = hostCpus): StepResources | undefined {
  const out: StepResources = {};
  if (flags.memory !== undefined) {
    const bytes = ramInBytes(flags.memory, '-m, --memory');
    if (bytes > 0 && bytes < MIN_MEMORY) throw new UserError('Minimum memory limit allowed is 6MB');
    if (bytes > 0) out.memoryBytes = bytes;
  }
  if (flags.memorySwap !== undefined) {
    const swap = flags.memorySwap === '-1' ? -1 : ramInBytes(flags.memorySwap, '--memory-swap');
    if (swap > 0 && !out.memoryBytes)
      throw new UserError('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (swap > 0 && swap < out.memoryBytes!)
      throw new UserError('Minimum memoryswap limit should be larger than memory limit, see usage');
    if (swap !== 0 && out.memoryBytes) out.memorySwapBytes = swap;
  }
  const quota = flags.cpuQuota !== undefined ? int(flags.cpuQuota, '--cpu-quota') : 0;
  const period = flags.cpuPeriod !== undefined ? int(flags.cpuPeriod, '--cpu-period') : 0;
  if (flags.cpus !== undefined) {
    const nano = parseNanoCpus(flags.cpus);
    if (nano !== 0 && period !== 0)
      throw new UserError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    if (nano !== 0 && quota !== 0)
      throw new UserError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
    const n = host().count;
    if (nano < 0 || nano > n * 1e9)
      throw new UserError(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
    if (nano > 0) out.nanoCpus = nano;
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000))
    throw new UserError('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (quota > 0 && quota < 1000) throw new UserError('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (quota < -1) throw new UserError(`invalid CPU quota (${quota}): -1 is no limit, else at least 1000`);
  if (quota !== 0) out.cpuQuota = quota;
  if (period !== 0) out.cpuPeriod = period;
  if (flags.cpuShares !== undefined) {
    const shares = int(flags.cpuShares, '-c, --cpu-shares');
    if (shares < 0) throw new UserError(`invalid CPU shares (${shares}): value must be a positive integer`);
    // dockerd clamps to the kernel's range (with a warning) rather than failing
    if (shares > 0) out.cpuShares = Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
  }
  if (flags.cpusetCpus) out.cpusetCpus = cpuset(flags.cpusetCpus, 'cpus', host());
  if (flags.cpusetMems) out.cpusetMems = cpuset(flags.cpusetMems, 'mems', host());
  if (flags.cgroupParent !== undefined && flags.cgroupParent !== '') {
    if (flags.cgroupParent.split('/').includes('..'))
      throw new UserError(`--cgroup-parent ${flags.cgroupParent}: a cgroup path may not contain ..`, {
        hint: 'give a path below the root of the cgroup hierarchy (absolute) or below tsbuild’s own cgroup (relative)',
      });
    out.cgroupParent = flags.cgroupParent;
  }
  return Object.keys(out).length ? out : undefined;
}
