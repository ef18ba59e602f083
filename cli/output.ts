// Printing data for humans or scripts: `-o json|yaml` everywhere data is printed.
import { stringify } from 'yaml';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json' || value === 'yaml') return value;
  throw new Error(`unknown output format "${value}": use json, yaml or text`);
}

/** Prints `data` as JSON or YAML, or calls `text` for the human form. */
export function print<T>(format: OutputFormat, data: T, text: (data: T) => string): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(stringify(data));
  else process.stdout.write(`${text(data)}\n`);
}
