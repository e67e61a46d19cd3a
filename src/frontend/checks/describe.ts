/** The description of a stage or ARG: a comment above it that starts with its name (BuildKit's getDocComment). */
export function docComment(comments: readonly string[], name: string): string {
  if (name === '') return '';
  for (const line of comments) if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  return '';
}
