import { readFileSync } from 'node:fs';

/** CAP_SYS_ADMIN's bit in a /proc/PID/status capability mask. */
const CAP_SYS_ADMIN = 21n;

/** Whether a /proc/PID/status text shows CAP_SYS_ADMIN in the effective set (no CapEff line: assumed, as on old kernels). */
export function parseHasSysAdmin(status: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? ((BigInt(`0x${m[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n : true;
}

let cached: boolean | undefined;

/**
 * Whether this process holds CAP_SYS_ADMIN, read once (one small read of /proc/self/status): what
 * mounting and `trusted.*` xattrs need. Root on a host has it; root in a container started
 * without --privileged does not.
 */
export function hasSysAdmin(): boolean {
  if (cached !== undefined) return cached;
  try {
    cached = parseHasSysAdmin(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    cached = true;
  }
  return cached;
}
