/** BuildKit's AST dump (parser.Node.Dump), rebuilt from raw instructions for golden comparison. */
import { goQuote } from '../../src/go-compat.js';
import type { RawDockerfile, RawInstruction } from '../../src/frontend/parser.js';

function flagText(f: RawInstruction['flags'][number]): string {
  return `--${f.name}${f.value === undefined ? '' : `=${f.value}`}`;
}

export function dumpInstruction(ins: RawInstruction): string {
  let out = ins.keyword.toLowerCase();
  if (ins.flags.length > 0) out += ` [${ins.flags.map((f) => goQuote(flagText(f))).join(' ')}]`;
  if (ins.trigger) out += ` (${dumpInstruction(ins.trigger)})`;
  for (const a of ins.args) out += ` ${goQuote(a)}`;
  return out.trim();
}

export function dumpDockerfile(df: RawDockerfile): string {
  return (
    df.instructions
      .map((i) => `(${dumpInstruction(i)})\n`)
      .join('')
      .trim() + '\n'
  );
}
