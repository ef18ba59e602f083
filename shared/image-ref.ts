// Image references, one grammar for the push intake, the CLI, the local registry's events and the
// revisions' pod templates: `[host[:port]/]path[:tag][@sha256:<64 hex>]`. A colon before the last
// slash is a registry port, not a tag (`localhost:5000/api`). Pure.

/** A repository: lower-case letters, digits and `._-/:`, starting and ending with a letter or digit. */
const repository = /^[a-z0-9][a-z0-9._\-/:]*[a-z0-9]$/;
/** A tag: up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`. */
const tag = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A sha256 content digest. */
export const sha256Digest = /^sha256:[a-f0-9]{64}$/;

export interface ImageRef {
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` */
  digest?: string;
}

/** Splits a reference into repository, tag and digest without judging them (pod templates' images). */
export function splitImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const colon = name.lastIndexOf(':');
  const tagged = colon > name.lastIndexOf('/');
  return {
    repository: tagged ? name.slice(0, colon) : name,
    ...(tagged ? { tag: name.slice(colon + 1) } : {}),
    ...(at === -1 ? {} : { digest: ref.slice(at + 1) }),
  };
}

/** Reads a reference strictly: each part present must be well formed; a string says which is not. */
export function parseImageRef(ref: string): ImageRef | string {
  const parts = splitImageRef(ref);
  if (!repository.test(parts.repository)) return `${ref}: "${parts.repository}" is not a repository name`;
  if (parts.tag !== undefined && !tag.test(parts.tag)) return `${ref}: "${parts.tag}" is not a tag`;
  if (parts.digest !== undefined && !sha256Digest.test(parts.digest)) {
    return `${ref}: "${parts.digest}" is not a sha256 digest`;
  }
  return parts;
}

/** Whether `value` is a tag (what `--tag` and a push's tag may be). */
export function isTag(value: string): boolean {
  return tag.test(value);
}
