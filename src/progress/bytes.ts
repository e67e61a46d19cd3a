/** Sizes as BuildKit's progress shows them: decimal units, one decimal place above bytes. */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
}
