import { UserError } from '../errors.js';

/**
 * How docker's CLI prints images, so output (and scripts reading it) look the same: IDs cut to
 * 12 hex characters, go-units' relative times and decimal sizes, tabwriter tables, and the
 * `--format` templates people use most.
 */

/** docker's image ID column: 12 hex characters, or the whole `sha256:…` with --no-trunc. */
export function formatImageId(id: string, noTrunc = false): string {
  if (noTrunc) return id;
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** go-units' HumanDuration, as docker prints CREATED ("2 minutes", "About an hour", "3 weeks"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago", or "N/A" for an image without a creation time, as docker shows it. */
export function createdSince(created: string | undefined, now = Date.now()): string {
  const t = created ? Date.parse(created) : Number.NaN;
  if (Number.isNaN(t) || t <= 0) return 'N/A';
  return `${humanDuration(now - t)} ago`;
}

/** Go's time.Time.String() of a UTC time, as docker's CreatedAt field: `2024-01-02 15:04:05 +0000 UTC`. */
export function createdAt(created: string | undefined): string {
  const t = created ? new Date(created) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '';
  return `${t.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** go-units' HumanSizeWithPrecision(size, 3): decimal units, three significant digits ("4.26MB", "0B"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** go-units' Ellipsis: at most `width` characters, the last one `…` when cut. */
export function ellipsis(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

/** docker's table: tabwriter with minimum width 10 and padding 3, the last column unpadded. */
export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, i) => Math.max(10, ...rows.map((r) => [...(r[i] ?? '')].length + 3)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
        .join('')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/**
 * A `--format` value as docker takes it: `json` (one object a line), `table` (the default), or a
 * Go template made of `{{.Field}}`, `{{.A.B}}`, `{{json .}}` and `{{json .Field}}` with text
 * between (a `table ` prefix adds the header row). Anything else is refused, naming what works.
 */
export type Formatter = (row: Record<string, unknown>) => string;

export function templateFormatter(
  format: string,
  flag: string,
): { render: Formatter; header?: string[] } | 'json' | 'table' {
  if (format === 'json') return 'json';
  if (format === 'table' || format === '') return 'table';
  const isTable = format.startsWith('table ');
  const body = (isTable ? format.slice(6) : format).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const parts: ((row: Record<string, unknown>) => string)[] = [];
  const header: string[] = [];
  let last = 0;
  for (const m of body.matchAll(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g)) {
    const text = body.slice(last, m.index);
    if (text.includes('{{')) throw badTemplate(format, flag);
    parts.push(() => text);
    const path = m[2] ? m[2].split('.') : [];
    const asJson = !!m[1];
    header.push(path.at(-1)?.toUpperCase() ?? '');
    parts.push((row) => {
      const v = path.reduce<unknown>(
        (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        row,
      );
      if (asJson) return JSON.stringify(v ?? null);
      if (v === undefined || v === null) return '<no value>';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
    last = m.index + m[0].length;
  }
  const rest = body.slice(last);
  if (rest.includes('{{')) throw badTemplate(format, flag);
  parts.push(() => rest);
  const render: Formatter = (row) => parts.map((p) => p(row)).join('');
  return isTable ? { render, header } : { render };
}

function badTemplate(format: string, flag: string): UserError {
  return new UserError(`${flag} ${JSON.stringify(format)}: tsbuild does not know this template`, {
    hint: "use json, table, or fields like '{{.ID}}\\t{{.Repository}}' and '{{json .}}'",
  });
}
