/** Instructions that change only the image config: no filesystem op, an empty_layer history entry. */
import { UserError } from '../errors.js';
import type {
  CmdInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  ShellInstruction,
  StopSignalInstruction,
  UserInstruction,
  VolumeInstruction,
} from './instruction-types.js';
import { goQuote } from '../go-compat.js';
import type { ShellLex } from './shell-lexer.js';
import { expansionScope, setStageEnv, type StageState } from './stage-state.js';

/** Go's `%q` of a []string, which BuildKit's history text uses: `["a" "b c"]`. */
function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** Go's time.Duration String(): `30s`, `1m30s`, `500ms`, `0s`. */
function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let rest = ns / 1e9;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const secs = `${Number(rest.toFixed(9))}s`;
  return h ? `${h}h${m}m${secs}` : m ? `${m}m${secs}` : secs;
}

/** Go's `%q` of an integer: a quoted rune literal (`'\x03'`, `'A'`). */
function goQuoteRune(n: number): string {
  if (n >= 0x20 && n < 0x7f && n !== 0x27 && n !== 0x5c) return `'${String.fromCharCode(n)}'`;
  if (n < 0x100) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'\\u${n.toString(16).padStart(4, '0')}'`;
}

export function addHistory(state: StageState, createdBy: string, withLayer: boolean): void {
  state.history.push(
    withLayer
      ? { created_by: createdBy, comment: 'buildkit.dockerfile.v0' }
      : { created_by: createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true },
  );
}

export function dispatchEnv(state: StageState, ins: EnvInstruction, lex: ShellLex): void {
  const parts: string[] = [];
  // Every pair sees the environment as it was before this instruction (Docker's documented rule).
  const scope = expansionScope(state);
  const expanded = ins.pairs.map(({ key, value }) => ({ key, value: lex.processWord(value, scope) }));
  for (const { key, value } of expanded) {
    setStageEnv(state, key, value);
    parts.push(`${key}=${value}`);
  }
  addHistory(state, `ENV ${parts.join(' ')}`, false);
}

export function dispatchLabel(state: StageState, ins: LabelInstruction, lex: ShellLex): void {
  const scope = expansionScope(state);
  const parts: string[] = [];
  const labels = (state.config.Labels ??= {});
  for (const { key, value } of ins.pairs) {
    const k = lex.processWord(key, scope);
    const v = lex.processWord(value, scope);
    labels[k] = v;
    parts.push(`${k}=${v}`);
  }
  addHistory(state, `LABEL ${parts.join(' ')}`, false);
}

export function dispatchUser(state: StageState, ins: UserInstruction, lex: ShellLex): void {
  state.config.User = lex.processWord(ins.user, expansionScope(state));
  addHistory(state, `USER ${state.config.User}`, false);
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp` …, as Docker's nat.ParsePortSpecs does. */
export function parsePortSpec(spec: string, ins: ExposeInstruction): string[] {
  const m = /^(?:(?:[^:]*:)?(?:[^:]*:))?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) {
    throw new UserError(`invalid port "${spec}" in EXPOSE`, {
      location: ins.location,
      hint: 'use PORT, PORT/PROTO or START-END/PROTO, e.g. 8080/tcp',
    });
  }
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (start > 65535 || end > 65535 || end < start) {
    throw new UserError(`invalid port range "${spec}" in EXPOSE`, { location: ins.location });
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

export function dispatchExpose(state: StageState, ins: ExposeInstruction, lex: ShellLex): void {
  const scope = expansionScope(state);
  const ports: string[] = [];
  for (const word of ins.ports) {
    for (const p of lex.processWords(word, scope)) ports.push(...parsePortSpec(p, ins));
  }
  const exposed = (state.config.ExposedPorts ??= {});
  for (const p of ports) exposed[p] = {};
  // today's BuildKit writes the sorted list (0.8 wrote Go's map syntax, `EXPOSE map[80/tcp:{}]`)
  addHistory(state, `EXPOSE [${[...ports].sort().join(' ')}]`, false);
}

export function dispatchVolume(state: StageState, ins: VolumeInstruction, lex: ShellLex): void {
  const scope = expansionScope(state);
  const volumes = (state.config.Volumes ??= {});
  const vols: string[] = [];
  for (const word of ins.volumes) {
    const v = lex.processWord(word, scope);
    if (v.trim() === '') throw new UserError('VOLUME specified can not be an empty string', { location: ins.location });
    volumes[v] = {};
    vols.push(v);
  }
  addHistory(state, `VOLUME [${vols.join(' ')}]`, false);
}

export function dispatchStopSignal(state: StageState, ins: StopSignalInstruction, lex: ShellLex): void {
  const sig = lex.processWord(ins.signal, expansionScope(state));
  if (!/^(SIG[A-Z0-9+-]+|\d+)$/i.test(sig)) {
    throw new UserError(`invalid signal "${sig}" in STOPSIGNAL`, {
      location: ins.location,
      hint: 'use a name like SIGTERM or a number',
    });
  }
  state.config.StopSignal = sig;
  addHistory(state, `STOPSIGNAL ${sig}`, false);
}

/** Shell form runs through the stage's SHELL; exec form is used as written. */
export function commandArgs(state: StageState, ins: { command: string[]; prependShell: boolean }): string[] {
  return ins.prependShell ? [...state.shell, ins.command.join(' ')] : [...ins.command];
}

export function dispatchCmd(state: StageState, ins: CmdInstruction): void {
  const args = commandArgs(state, ins);
  if (ins.kind === 'CMD') {
    state.config.Cmd = args;
    state.cmdSet = true;
    addHistory(state, `CMD ${goQuoteList(args)}`, false);
  } else {
    state.config.Entrypoint = args;
    // An ENTRYPOINT makes an inherited CMD meaningless: BuildKit drops it unless this stage set one.
    if (!state.cmdSet) state.config.Cmd = null;
    addHistory(state, `ENTRYPOINT ${goQuoteList(args)}`, false);
  }
}

export function dispatchShell(state: StageState, ins: ShellInstruction): void {
  state.shell = [...ins.shell];
  state.config.Shell = [...ins.shell];
  addHistory(state, `SHELL [${ins.shell.join(' ')}]`, false);
}

export function dispatchHealthcheck(state: StageState, ins: HealthcheckInstruction): void {
  const hc: NonNullable<typeof state.config.Healthcheck> = { Test: [...ins.test] };
  if (ins.interval !== undefined) hc.Interval = ins.interval;
  if (ins.timeout !== undefined) hc.Timeout = ins.timeout;
  if (ins.startPeriod !== undefined) hc.StartPeriod = ins.startPeriod;
  if (ins.startInterval !== undefined) hc.StartInterval = ins.startInterval;
  if (ins.retries !== undefined) hc.Retries = ins.retries;
  state.config.Healthcheck = hc;
  const dur = (ns: number | undefined): string => goQuote(goDuration(ns ?? 0));
  const fields = [goQuoteList(hc.Test ?? []), dur(hc.Interval), dur(hc.Timeout), dur(hc.StartPeriod)];
  if (ins.startInterval !== undefined) fields.push(dur(hc.StartInterval));
  addHistory(state, `HEALTHCHECK &{${[...fields, goQuoteRune(hc.Retries ?? 0)].join(' ')}}`, false);
}

export function dispatchOnbuild(state: StageState, ins: OnbuildInstruction): void {
  // BuildKit records the trigger in the config only, with no history entry.
  (state.config.OnBuild ??= []).push(ins.expression);
}

export function dispatchMaintainer(state: StageState, ins: MaintainerInstruction, lex: ShellLex): void {
  state.author = lex.processWord(ins.maintainer, expansionScope(state));
  addHistory(state, `MAINTAINER ${state.author}`, false);
}
