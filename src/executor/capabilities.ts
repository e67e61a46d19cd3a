import { readFileSync } from 'node:fs';

/** Capability names by bit number (linux/capability.h), for reading a process's sets. */
const NAMES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((n) => `CAP_${n}`);

/** The names of the capabilities in a hex mask as /proc/PID/status shows it (`CapEff: 000001ffffffffff`); unknown bits are left out. */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The effective capabilities of a process, from the text of its /proc/PID/status. */
export function effectiveCaps(status: string): string[] {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? capsFromMask(m[1]!) : [];
}

let own: string[] | undefined;

/** This process's effective capabilities: what RUN --security=insecure can be given (BuildKit's cap.Current). */
export function ownCaps(): string[] {
  own ??= effectiveCaps(readFileSync('/proc/self/status', 'utf8'));
  return own;
}
