/**
 * Memory sizes in binary units, as docker writes memory limits and `docker stats` shows usage:
 * `512 B`, `31.8 MiB`, `2 GiB` (one decimal place, none when whole).
 */
export function binaryBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[u]}`;
}
