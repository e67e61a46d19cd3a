import { posix } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The file name a COPY/ADD heredoc lands as in its destination. BuildKit writes the body with
 * llb.Mkfile into an empty scratch root (the name joined onto `/`, so `..` stops there) and copies
 * it from there: a name that cleans to one component lands as that component, and one with a
 * directory part fails, the scratch root having no directories. The same here: the name never
 * reaches a path join on the host.
 */
export function inlineFileName(name: string): string {
  if (name.includes('\0')) throw new UserError(`heredoc name ${JSON.stringify(name)} contains a NUL byte`);
  const parts = posix
    .normalize('/' + name)
    .split('/')
    .filter(Boolean);
  if (parts.length !== 1) {
    throw new UserError(
      `heredoc name ${name} is not a file name: an inline document is one file, copied into the destination by its name`,
      {
        hint: `name it with a plain file name (e.g. <<${parts.at(-1) ?? 'EOF'}) and put the directory in the destination`,
      },
    );
  }
  return parts[0]!;
}
