// The path a `web` metric asks of a Service through the API server's service proxy. It is appended
// to `/api/v1/namespaces/{ns}/services/{name}:{port}/proxy`, so a dot segment (`..`, `%2e%2e`,
// `%2E.`, double-encoded, or behind a backslash, which URL parsers read as "/") would climb out of
// the proxy into the rest of the API with the functions' credentials. Such paths are refused, at
// validate time and again before every request, and the URL built is checked to still be the proxy
// of that Service in the target's namespace.

/** Why `path` may not be proxied, or undefined when it may. */
export function servicePathRefusal(path: string): string | undefined {
  if (!path.startsWith('/')) return 'the path must start with "/"';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\s]/.test(path)) return 'the path may not contain spaces or control characters';
  let stage = path;
  // Each decoding of the path (the API server decodes once, the Service may decode again) is checked.
  for (let depth = 0; depth < 5; depth++) {
    const beforeQuery = stage.split(/[?#]/)[0]!;
    if (beforeQuery.includes('\\')) return 'the path may not contain backslashes (raw or %5C)';
    const dotSegment = beforeQuery.split('/').find((s) => s === '.' || s === '..');
    if (dotSegment !== undefined) {
      return `the path may not contain "." or ".." segments, encoded or not (found ${JSON.stringify(dotSegment)}${depth > 0 ? ` after ${depth} decoding(s) of ${JSON.stringify(path.split(/[?#]/)[0])}` : ''}): write the path the Service serves, from its root`;
    }
    let next: string;
    try {
      next = decodeURIComponent(stage);
    } catch {
      // A literal "%" left by an earlier decoding ends the decoding; the path itself must be well formed.
      return depth === 0 ? 'the path has a malformed %-escape' : undefined;
    }
    if (next === stage) return undefined;
    stage = next;
  }
  return 'the path is encoded too many times over';
}

/**
 * Checks that `url` (the API server's address with the proxy path appended, as the request will be
 * sent after URL parsing) is still under `prefix` (the proxy path of the Service, without the
 * service path) on `server`. Returns why not, or undefined.
 */
export function proxyEscape(server: string, prefix: string, url: string): string | undefined {
  const base = new URL(server);
  const sent = new URL(url);
  const want = `${base.pathname.replace(/\/+$/, '')}${prefix}`;
  if (sent.origin !== base.origin || !(sent.pathname === want || sent.pathname.startsWith(`${want}/`))) {
    return `the request would go to ${sent.pathname}, outside the Service's proxy ${want}`;
  }
  return undefined;
}
