// Builds the package Cloud Functions deploys: dist/switchyard-functions.zip with package.json,
// package-lock.json, functions/ and shared/ (TypeScript sources, no tests). Cloud Functions
// installs the dependencies from the lockfile, and Node 24 runs the .ts files as they are
// (package.json "main" names functions/index.ts). The archive is byte-for-byte the same for the
// same sources (fixed order and timestamps), so Terraform, which names the uploaded object after its
// MD5, redeploys only when something changed.
//
// Usage: node scripts/package.ts [out.zip]   (npm run package)
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export const repoRoot = resolve(import.meta.dirname, '..');
export const defaultPackagePath = join(repoRoot, 'dist', 'switchyard-functions.zip');

/** Folders whose sources the functions run. */
const sourceDirs = ['functions', 'shared'];
const rootFiles = ['package.json', 'package-lock.json'];

/** Paths (relative, with "/") of the files that go into the package, sorted. */
export function packageFiles(root = repoRoot): string[] {
  const files = [...rootFiles];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
        files.push(path);
    }
  };
  for (const dir of sourceDirs) walk(dir);
  return files.sort();
}

// 1980-01-01 00:00, the earliest time a zip entry can carry: the same for every build.
const dosDate = (0 << 9) | (1 << 5) | 1;
const dosTime = 0;

/** A zip archive (deflate, UTF-8 names, regular files mode 644) of `entries`, in their order. */
export function zip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, compressed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Writes the package to `out` and returns its files and MD5 (hex, as Terraform's filemd5). */
export function buildPackage(out = defaultPackagePath, root = repoRoot): { files: string[]; md5: string } {
  const files = packageFiles(root);
  const archive = zip(files.map((name) => ({ name, data: readFileSync(join(root, ...name.split('/'))) })));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, archive);
  return { files, md5: createHash('md5').update(archive).digest('hex') };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const out = resolve(process.argv[2] ?? defaultPackagePath);
  const { files, md5 } = buildPackage(out);
  const shown = relative(process.cwd(), out).split(sep).join('/');
  process.stdout.write(`${shown}: ${files.length} files, md5 ${md5}\n`);
}
