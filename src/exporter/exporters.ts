import { dockerExporter } from './docker-exporter.js';
import { entry, type Exporter, type ExportReport } from './exporter.js';
import { imageExporter } from './image-exporter.js';
import { localExporter } from './local-exporter.js';
import { ociExporter } from './oci-exporter.js';
import { tarExporter } from './tar-exporter.js';

/** Every `-o type=…` tsbuild writes, in the order hints list them. A new output type is one file and one line here. */
export const EXPORTERS: readonly Exporter[] = [
  entry(ociExporter),
  entry(dockerExporter),
  entry(localExporter),
  entry(tarExporter),
  entry(imageExporter),
];

export function exporterFor(type: string): Exporter | undefined {
  return EXPORTERS.find((e) => e.type === type);
}

/** The exporter a `type=` or one of its aliases names. */
export function exporterOrAlias(
  type: string,
  table: readonly Exporter[] = EXPORTERS,
): { exporter: Exporter; alias?: string } | undefined {
  const direct = table.find((e) => e.type === type);
  if (direct) return { exporter: direct };
  const aliased = table.find((e) => e.aliases && Object.hasOwn(e.aliases, type));
  return aliased && { exporter: aliased, alias: type };
}

/** Every `type=` accepted: the exporters', then their aliases. */
export const exporterTypes = (table: readonly Exporter[] = EXPORTERS): string[] => [
  ...table.map((e) => e.type),
  ...table.flatMap((e) => Object.keys(e.aliases ?? {})),
];

/** The image was named in the state directory's store with a -t name. */
export interface StoredReport extends ExportReport {
  type: 'store';
  name: string;
  root: string;
}

/** A report's line in the build's closing summary. */
export function printReport(report: ExportReport): string {
  if (report.type === 'store') {
    const r = report as StoredReport;
    return `stored as ${r.name} in ${r.root}/content`;
  }
  const exporter = exporterFor(report.type);
  if (!exporter) throw new Error(`no exporter prints a "${report.type}" report`);
  return exporter.print(report);
}
