/**
 * Shrinks a failing input while it still fails the same way: drops chunks of lines, halving the
 * chunk size (ddmin-style), after halving long runs of a repeated unit, then chunks of characters,
 * within a budget of tries (each try is a real build).
 */
export async function minimise(
  text: string,
  stillFails: (candidate: string) => Promise<boolean>,
  budget = 80,
): Promise<string> {
  let tries = 0;
  const attempt = async (candidate: string): Promise<boolean> => {
    if (tries >= budget) return false;
    tries++;
    return stillFails(candidate);
  };
  const shrink = async (parts: string[], join: string): Promise<string[]> => {
    let chunk = Math.max(1, Math.floor(parts.length / 2));
    while (chunk >= 1 && tries < budget) {
      let removed = false;
      for (let i = 0; i + chunk <= parts.length && tries < budget; ) {
        const candidate = [...parts.slice(0, i), ...parts.slice(i + chunk)];
        if (candidate.length && (await attempt(candidate.join(join)))) {
          parts = candidate;
          removed = true;
        } else {
          i += chunk;
        }
      }
      if (!removed) chunk = Math.floor(chunk / 2);
    }
    return parts;
  };
  let current = text;
  // a long run of one unit (a fuzzer's very long word) shrinks by halves before char by char
  for (const run of current.match(/(.{1,4}?)\1{63,}/gs) ?? []) {
    const unit = /^(.{1,4}?)\1*$/s.exec(run)?.[1] ?? run;
    let keep = run.length / unit.length;
    while (keep > 1 && tries < budget) {
      const shorter = current.replace(run.slice(0, keep * unit.length), unit.repeat(Math.floor(keep / 2)));
      if (!(await attempt(shorter))) break;
      current = shorter;
      keep = Math.floor(keep / 2);
    }
  }
  current = (await shrink(current.split('\n'), '\n')).join('\n');
  return (await shrink([...current], '')).join('');
}
