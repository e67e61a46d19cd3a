/**
 * `# syntax=IMAGE`: BuildKit runs the frontend the image holds. tsbuild has one frontend, its
 * own, which implements the Dockerfile frontend 1.x (labs features included); so a syntax line
 * naming that frontend (docker/dockerfile:1, :1.7, :1.7.1, :labs, :1-labs, -upstream:master, a
 * digest of one) means "the built-in frontend" and builds silently. Any other value names a
 * frontend tsbuild cannot run: building it with ours could give another image without a word,
 * so it fails, as BuildKit fails on a value it cannot resolve. `--build-arg BUILDKIT_SYNTAX=…`
 * overrides the line, as in BuildKit, which is the way to build such a file with ours anyway.
 */
import { UserError } from '../errors.js';

const DOCKERFILE_REPOS =
  /^(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\/)?docker\/dockerfile(?:-upstream)?$/;
const DOCKERFILE_TAGS = /^(?:latest|labs|master|master-labs|1(?:\.\d+){0,2}(?:-labs)?)$/;

/** True when `ref` (the directive's first word) names BuildKit's Dockerfile frontend, version 1. */
export function isDockerfileFrontend(ref: string): boolean {
  const at = ref.indexOf('@');
  const nameTag = at < 0 ? ref : ref.slice(0, at);
  if (at >= 0 && !/^sha256:[a-f0-9]{64}$/.test(ref.slice(at + 1))) return false;
  const colon = nameTag.lastIndexOf(':');
  const hasTag = colon > nameTag.lastIndexOf('/');
  const repo = hasTag ? nameTag.slice(0, colon) : nameTag;
  const tag = hasTag ? nameTag.slice(colon + 1) : undefined;
  if (!DOCKERFILE_REPOS.test(repo)) return false;
  return tag === undefined || DOCKERFILE_TAGS.test(tag);
}

export function checkSyntaxDirective(
  directive: string | undefined,
  buildArgs: ReadonlyMap<string, string>,
  file: string,
): void {
  const override = buildArgs.get('BUILDKIT_SYNTAX');
  const value = override ?? directive;
  if (value === undefined || value.trim() === '') return;
  const ref = value.trim().split(' ')[0]!;
  if (isDockerfileFrontend(ref)) return;
  throw new UserError(
    `${override !== undefined ? 'BUILDKIT_SYNTAX' : 'the syntax directive'} names the frontend ${JSON.stringify(ref)}, which tsbuild cannot run`,
    {
      ...(override === undefined ? { location: { file, line: 1, column: 1 } } : {}),
      hint: 'tsbuild has one frontend, its own, for Dockerfile syntax 1.x (docker/dockerfile:1 and its labs channel); remove the line, or pass --build-arg BUILDKIT_SYNTAX=docker/dockerfile:1 to build this file with it',
    },
  );
}
