import { describe, expect, it } from 'vitest';
import { program } from './program.js';
import { SUBCOMMANDS } from './subcommands.js';

describe('SUBCOMMANDS', () => {
  it("is the program's subcommands other than build", () => {
    const names = program()
      .commands.map((c) => c.name())
      .filter((n) => n !== 'build');
    expect([...SUBCOMMANDS].sort()).toEqual(names.sort());
  });
});
