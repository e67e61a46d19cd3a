/**
 * `--chmod` values as BuildKit reads them: an octal number sets the mode outright (special bits
 * included), anything else is a chmod(1) symbolic mode (`u=rwx,go=rx`, `+x`, `a-w`, `g=u`, `+X`)
 * applied to each copied file's own mode. This is BSD setmode(3) as ported by the Go package
 * BuildKit uses (tonistiigi/dchapes-mode), with the umask fixed at 022 — the daemon's — since a
 * build's result must not depend on the umask of whoever runs it (`+w` therefore means `u+w`).
 */
import { UserError } from '../errors.js';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISTXT = 0o1000;
const RWXU = 0o700;
const RWXG = 0o070;
const RWXO = 0o007;
const STANDARD = S_ISUID | S_ISGID | RWXU | RWXG | RWXO;
const READ = 0o444;
const WRITE = 0o222;
const EXEC = 0o111;
const UMASK = 0o022;

type Cmd = {
  op: '+' | '-' | 'X' | 'u' | 'g' | 'o';
  bits: number;
  copyTo?: { u: boolean; g: boolean; o: boolean };
  set?: boolean;
  clear?: boolean;
};

/** A parsed --chmod: `apply` gives the mode a copied entry gets from its source mode. */
export interface ModeChange {
  readonly text: string;
  apply(mode: number, isDir: boolean): number;
}

function nonOctal(text: string): UserError {
  return new UserError(`invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`, {
    hint: 'use an octal mode (0755) or a chmod symbolic mode (u=rwx,go=rx, +x, a-w)',
  });
}

function syntax(text: string): UserError {
  return new UserError(`invalid chmod parameter: '${text}': not an octal or symbolic mode`, {
    hint: 'symbolic modes are [ugoa]*[+-=][rwxXst]* clauses joined by commas, e.g. u=rwx,go=rx',
  });
}

/** Parses --chmod; throws a UserError worded like BuildKit's for values it refuses. */
export function parseModeChange(text: string): ModeChange {
  if (/^[0-9]/.test(text)) {
    if (!/^[0-7]+$/.test(text) || parseInt(text, 8) > 0o7777) throw nonOctal(text);
    const mode = parseInt(text, 8);
    return { text, apply: () => mode };
  }
  const cmds = compress(parseSymbolic(text));
  return { text, apply: (mode, isDir) => applyCmds(cmds, mode & 0o7777, isDir) };
}

/** The octal mode when `text` is one (BuildKit keeps those numeric in the op), else undefined. */
export function octalMode(text: string): number | undefined {
  return /^[0-7]+$/.test(text) && parseInt(text, 8) <= 0o7777 ? parseInt(text, 8) : undefined;
}

function parseSymbolic(text: string): Cmd[] {
  const cmds: Cmd[] = [];
  const mask = ~UMASK & 0o7777;
  const add = (op: string, who: number, oparg: number | string): void => {
    if (op === '=') {
      cmds.push({ op: '-', bits: who !== 0 ? who : STANDARD });
      op = '+';
    }
    if (op === '+' || op === '-' || op === 'X') {
      cmds.push({ op, bits: who !== 0 ? who & (oparg as number) : mask & (oparg as number) });
      return;
    }
    // u, g, o: copy one class's bits onto the classes in `who`
    const c: Cmd = { op: op as 'u' | 'g' | 'o', bits: who !== 0 ? 0o7777 : mask };
    c.copyTo =
      who !== 0
        ? { u: (who & 0o400) !== 0, g: (who & 0o040) !== 0, o: (who & 0o004) !== 0 }
        : { u: true, g: true, o: true };
    if (oparg === '+') c.set = true;
    if (oparg === '-') c.clear = true;
    if (oparg === '=') c.set = c.clear = true;
    cmds.push(c);
  };

  let s = text;
  let equalOpDone = false;
  if (s === '') throw syntax(text);
  for (;;) {
    let who = 0;
    for (;;) {
      const c = s[0];
      if (c === 'a') who |= STANDARD;
      else if (c === 'u') who |= S_ISUID | RWXU;
      else if (c === 'g') who |= S_ISGID | RWXG;
      else if (c === 'o') who |= RWXO;
      else break;
      s = s.slice(1);
    }
    for (;;) {
      // getop
      if (s === '') throw syntax(text);
      const op = s[0]!;
      s = s.slice(1);
      if (op === '=') equalOpDone = false;
      else if (op !== '+' && op !== '-') throw syntax(text);
      who &= ~S_ISTXT;
      let perm = 0;
      let permX = 0;
      for (; ; s = s.slice(1)) {
        const b = s[0] ?? '';
        if (b === 'r') perm |= READ;
        else if (b === 's') {
          if (who === 0 || (who & ~RWXO) !== 0) perm |= S_ISUID | S_ISGID;
        } else if (b === 't') {
          if (who === 0 || (who & ~RWXO) !== 0) {
            who |= S_ISTXT;
            perm |= S_ISTXT;
          }
        } else if (b === 'w') perm |= WRITE;
        else if (b === 'X') {
          if (op === '+') permX = EXEC;
        } else if (b === 'x') perm |= EXEC;
        else if (b === 'u' || b === 'g' || b === 'o') {
          if (perm !== 0) {
            add(op, who, perm);
            perm = 0;
          }
          if (op === '=') equalOpDone = true;
          if (permX !== 0) {
            add('X', who, permX);
            permX = 0;
          }
          add(b, who, op);
        } else {
          if (perm !== 0 || (op === '=' && !equalOpDone)) {
            if (op === '=') equalOpDone = true;
            add(op, who, perm);
            perm = 0;
          }
          if (permX !== 0) add('X', who, permX);
          break;
        }
      }
      if (s === '') return cmds;
      if (s[0] !== ',') continue; // another operator for the same classes, as in `u+r-w`
      s = s.slice(1);
      break;
    }
  }
}

/** setmode's compress: runs of +, - and X fold into at most one of each, in that order. */
function compress(cmds: Cmd[]): Cmd[] {
  const out: Cmd[] = [];
  for (let i = 0; i < cmds.length; i++) {
    if (!'+-X'.includes(cmds[i]!.op)) {
      out.push(cmds[i]!);
      continue;
    }
    let set = 0;
    let clr = 0;
    let x = 0;
    for (; i < cmds.length && '+-X'.includes(cmds[i]!.op); i++) {
      const c = cmds[i]!;
      if (c.op === '-') {
        clr |= c.bits;
        set &= ~c.bits;
        x &= ~c.bits;
      } else if (c.op === '+') {
        set |= c.bits;
        clr &= ~c.bits;
        x &= ~c.bits;
      } else x |= c.bits & ~set;
    }
    i--;
    if (clr) out.push({ op: '-', bits: clr });
    if (set) out.push({ op: '+', bits: set });
    if (x) out.push({ op: 'X', bits: x });
  }
  return out;
}

function applyCmds(cmds: Cmd[], omode: number, isDir: boolean): number {
  let mode = omode;
  const copy = (c: Cmd, value: number): void => {
    const t = c.copyTo!;
    if (c.clear) {
      const clr = c.set ? RWXO : value;
      if (t.u) mode &= ~((clr << 6) & c.bits);
      if (t.g) mode &= ~((clr << 3) & c.bits);
      if (t.o) mode &= ~(clr & c.bits);
    }
    if (c.set) {
      if (t.u) mode |= (value << 6) & c.bits;
      if (t.g) mode |= (value << 3) & c.bits;
      if (t.o) mode |= value & c.bits;
    }
  };
  for (const c of cmds) {
    if (c.op === 'u') copy(c, (mode & RWXU) >> 6);
    else if (c.op === 'g') copy(c, (mode & RWXG) >> 3);
    else if (c.op === 'o') copy(c, mode & RWXO);
    else if (c.op === '+') mode |= c.bits;
    else if (c.op === '-') mode &= ~c.bits;
    else if ((omode & EXEC) !== 0 || isDir) mode |= c.bits;
  }
  return mode & 0o7777;
}
