// Printing data for humans or scripts: `-o json|yaml` everywhere data is printed.
import { InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json' || value === 'yaml') return value;
  throw new InvalidArgumentError(`unknown output format "${value}": use json, yaml or text`);
}

/** The `-o, --output` option of every command that prints data. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'json, yaml or text')
    .default('text')
    .argParser(parseOutputFormat);
}

/** Plain YAML: an object that appears twice is written twice, never as an anchor and alias. */
export function toYaml(data: unknown): string {
  return stringify(data, { aliasDuplicateObjects: false });
}

/** Prints `data` as JSON or YAML, or calls `text` for the human form. */
export function print<T>(format: OutputFormat, data: T, text: (data: T) => string): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(toYaml(data));
  else process.stdout.write(`${text(data)}\n`);
}

/** One item of a stream (watch): a JSON line, or a YAML document. */
export function printItem(format: 'json' | 'yaml', item: unknown): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(item)}\n`);
  else process.stdout.write(`---\n${toYaml(item)}`);
}

/** A time as local ISO 8601 with the offset, e.g. 2025-03-01T14:05:09.120+01:00. */
export function localIso(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const zone =
    offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${zone}`;
}

/** How long ago, as kubectl says it: 45s, 3m, 2h, 5d. */
export function age(ms: number, now: number): string {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Left-aligned columns, like kubectl get. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(c))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Display width of a string (code points; the symbols used here are one column wide). */
export function width(s: string): number {
  return [...s].length;
}

/** Parses a positive number of seconds (commander reports a bad one as invalid input). */
export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${value} is not a positive number`);
  return n;
}
