// Structured JSON logs in Cloud Logging's format (one object per line on stdout), with the release
// id on every line that concerns a release.
type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry these fields (e.g. releaseId, target). */
  with(fields: Record<string, unknown>): Logger;
}

/**
 * Keys of a line that Cloud Logging reads itself, which the line sets and no field may replace (a
 * field named `message` once replaced the reason of the line that logged a malformed message).
 * A field with one of these names is kept under `fields` instead, e.g. `fields.message`.
 */
const ownKeys = new Set(['severity', 'message', 'time', 'logging.googleapis.com/labels', 'fields']);

/**
 * A field whose JSON is longer than this is cut to its first characters: a message of megabytes
 * (anyone may publish one) must not make a line Cloud Logging refuses (256 KB per entry).
 */
export const maxFieldChars = 8 * 1024;

const cut = (text: string) => `${text.slice(0, maxFieldChars)}… (cut: ${text.length} characters in all)`;

function bounded(value: unknown): unknown {
  if (typeof value === 'string') return value.length <= maxFieldChars ? value : cut(value);
  if (value === null || typeof value !== 'object') return value;
  let text: string;
  try {
    text = JSON.stringify(value) ?? '';
  } catch (err) {
    return `(not JSON: ${err instanceof Error ? err.message : String(err)})`;
  }
  return text.length <= maxFieldChars ? value : cut(text);
}

export function logger(
  base: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  const emit = (severity: Severity, message: string, fields: Record<string, unknown> = {}) => {
    const all = { ...base, ...fields };
    const labels: Record<string, string> = {};
    for (const key of ['releaseId', 'target', 'function']) {
      if (typeof all[key] === 'string') labels[key] = all[key] as string;
    }
    // Without a prototype, a field named __proto__ is a field like any other.
    const line: Record<string, unknown> = Object.assign(Object.create(null), {
      severity,
      message: bounded(message),
      time: new Date().toISOString(),
    });
    const kept: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(all)) {
      if (ownKeys.has(key)) kept[key] = bounded(value);
      else line[key] = bounded(value);
    }
    if (Object.keys(kept).length) line.fields = kept;
    if (Object.keys(labels).length) line['logging.googleapis.com/labels'] = labels;
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    with: (fields) => logger({ ...base, ...fields }, write),
  };
}
