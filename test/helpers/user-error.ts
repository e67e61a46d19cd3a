import { UserError } from '../../src/errors.js';

/** The UserError `work` rejects with; anything else it throws is rethrown, and settling without error fails the test. */
export async function userErrorOf(work: Promise<unknown>): Promise<UserError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('settled without error');
}

/** The UserError `fn` throws (for synchronous parsers). */
export function userErrorOfSync(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('returned without error');
}
