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
    write(
      `${JSON.stringify({
        severity,
        message,
        time: new Date().toISOString(),
        ...all,
        ...(Object.keys(labels).length ? { 'logging.googleapis.com/labels': labels } : {}),
      })}\n`,
    );
  };
  return {
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    with: (fields) => logger({ ...base, ...fields }, write),
  };
}
