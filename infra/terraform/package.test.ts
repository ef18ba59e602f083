// The package Terraform uploads (scripts/package.ts, `npm run package`): what is in it, that it is
// self-contained, and that the same sources give the same bytes (so its MD5 names a version).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPackage, packageFiles, repoRoot } from '../../scripts/package.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The entries of a zip archive, read back through its central directory. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30);
    const comment = archive.readUInt16LE(at + 32);
    const offset = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = offset + 30 + archive.readUInt16LE(offset + 26) + archive.readUInt16LE(offset + 28);
    entries.set(name, inflateRawSync(archive.subarray(dataAt, dataAt + size)));
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

describe('the functions package', () => {
  const out = join(dir, 'a.zip');
  const built = buildPackage(out);
  const archive = readFileSync(out);
  const entries = unzip(archive);

  it('holds package.json, the lockfile, functions/ and shared/ without tests, as they are', () => {
    expect([...entries.keys()]).toEqual(built.files);
    expect(built.files).toContain('package.json');
    expect(built.files).toContain('package-lock.json');
    expect(built.files).toContain('functions/index.ts');
    expect(built.files.some((f) => f.endsWith('.test.ts'))).toBe(false);
    expect(built.files.every((f) => /^(package(-lock)?\.json|(functions|shared)\/.+\.ts)$/.test(f))).toBe(
      true,
    );
    for (const [name, data] of entries)
      expect(data.equals(readFileSync(join(repoRoot, name))), name).toBe(true);
  });

  it('starts from package.json main, functions/index.ts (Node 24 runs TypeScript as is)', () => {
    const pkg = JSON.parse(entries.get('package.json')!.toString('utf8')) as { main?: string; type?: string };
    expect(pkg.main).toBe('functions/index.ts');
    expect(pkg.type).toBe('module');
    expect(entries.has(pkg.main!)).toBe(true);
  });

  it('is self-contained: every relative import of a packaged file is packaged', () => {
    for (const [name, data] of entries) {
      if (!name.endsWith('.ts')) continue;
      for (const m of data.toString('utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = posix.normalize(posix.join(posix.dirname(name), m[1]!));
        expect(entries.has(target), `${name} imports ${m[1]}`).toBe(true);
      }
    }
  });

  it('is the same bytes when built again from the same sources', () => {
    const again = join(dir, 'b.zip');
    expect(buildPackage(again).md5).toBe(built.md5);
    expect(createHash('md5').update(readFileSync(again)).digest('hex')).toBe(built.md5);
    expect(packageFiles()).toEqual(built.files);
  });
});
