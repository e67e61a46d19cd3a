/**
 * The CLI's subcommands other than `build` (anything else as the first word is a build's context).
 * Kept apart from program.ts so that the server's 6 KB client can tell them without loading the CLI;
 * subcommands.test.ts checks the list against the program.
 */
export const SUBCOMMANDS: ReadonlySet<string> = new Set([
  'du',
  'prune',
  'images',
  'tag',
  'rmi',
  'inspect',
  'history',
  'save',
  'load',
  'pull',
  'push',
  'run',
]);
