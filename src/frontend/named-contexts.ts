/**
 * `--build-context` names as BuildKit matches them (dockerui NamedContext): a name is parsed as
 * an image reference and compared in its familiar form without `:latest`, so `alpine`,
 * `alpine:latest` and `docker.io/library/alpine` are one name; `scratch` and `context` are never
 * looked up.
 */
import { UserError } from '../errors.js';
import { parseReference } from '../registry/reference.js';
import type { NamedContext } from './build-plan.js';

/** The name `name` is looked up by, or undefined when it cannot be an image name. */
export function namedContextKey(name: string): string | undefined {
  try {
    return parseReference(name)
      .familiar()
      .replace(/:latest$/, '');
  } catch {
    return undefined;
  }
}

/** The key of a `--build-context` NAME, refused as buildx refuses it when it is no image name. */
export function checkedContextKey(name: string): string {
  const key = namedContextKey(name);
  if (key === undefined) {
    throw new UserError(`invalid context name ${name}`, {
      hint: 'a named context is called like a stage or an image: lowercase letters, digits, ., _, -, /',
    });
  }
  return key;
}

/** The named context that replaces the stage or image `name` in FROM, COPY --from or RUN --mount from=. */
export function lookupNamedContext(
  contexts: Map<string, NamedContext> | undefined,
  name: string,
): NamedContext | undefined {
  if (!contexts?.size) return undefined;
  const lower = name.toLowerCase();
  if (lower === 'scratch' || lower === 'context') return undefined;
  const key = namedContextKey(name);
  return key === undefined ? undefined : contexts.get(key);
}
