import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yauzl from 'yauzl';

/** Abstract view of a package's files (zip, folder, or memory). Paths are forward-slash and package-relative. */
export interface PackageFiles {
  has(path: string): boolean;
  list(): string[];
  /** callers only read YAML/small files through this */
  read(path: string): Promise<Buffer>;
}

/** Normalise a package path; undefined when it escapes the package root. */
export function normalizePath(p: string): string | undefined {
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!out.length) return undefined;
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

export function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function joinPath(dir: string, rel: string): string | undefined {
  return normalizePath(dir ? `${dir}/${rel}` : rel);
}

export function folderFiles(dir: string): PackageFiles {
  const root = path.resolve(dir);
  let names: Set<string> | undefined;
  const all = (): Set<string> => {
    if (!names) {
      names = new Set();
      const walk = (abs: string, rel: string): void => {
        for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
          const r = rel ? `${rel}/${e.name}` : e.name;
          // Symlinks are not followed: a package is a closed set of regular files.
          if (e.isDirectory()) walk(path.join(abs, e.name), r);
          else if (e.isFile()) names!.add(r);
        }
      };
      walk(root, '');
    }
    return names;
  };
  return {
    has: (p) => all().has(p),
    list: () => [...all()],
    read: async (p) => {
      if (!all().has(p)) throw new Error(`no such file in package: ${p}`);
      return fs.promises.readFile(path.join(root, ...p.split('/')));
    },
  };
}

export function memoryFiles(map: Record<string, string | Buffer>): PackageFiles {
  const files = new Map(Object.entries(map).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v, 'utf8') : v]));
  return {
    has: (p) => files.has(p),
    list: () => [...files.keys()],
    read: async (p) => {
      const b = files.get(p);
      if (!b) throw new Error(`no such file in package: ${p}`);
      return b;
    },
  };
}

export interface ZipPackage extends PackageFiles { close(): void }

/**
 * A zip (CSAR) read lazily with yauzl: the central directory is listed once, and an entry is inflated
 * only when read, refusing entries larger than `maxEntryBytes` (checked against the real inflated size too).
 */
export function zipFiles(zipPath: string, maxEntryBytes = 16 * 1024 * 1024): Promise<ZipPackage> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('cannot open zip'));
      const entries = new Map<string, yauzl.Entry>();
      zip.on('entry', (e: yauzl.Entry) => {
        const name = normalizePath(e.fileName);
        if (name && !e.fileName.endsWith('/')) entries.set(name, e);
        zip.readEntry();
      });
      zip.on('error', reject);
      zip.on('end', () =>
        resolve({
          has: (p) => entries.has(p),
          list: () => [...entries.keys()],
          close: () => zip.close(),
          read: (p) =>
            new Promise<Buffer>((res, rej) => {
              const e = entries.get(p);
              if (!e) return rej(new Error(`no such file in package: ${p}`));
              if (e.uncompressedSize > maxEntryBytes) return rej(new Error(`${p}: ${e.uncompressedSize} bytes exceeds the ${maxEntryBytes} byte cap`));
              zip.openReadStream(e, (se, stream) => {
                if (se || !stream) return rej(se ?? new Error('cannot read entry'));
                const chunks: Buffer[] = [];
                let n = 0;
                stream.on('data', (c: Buffer) => {
                  n += c.length;
                  if (n > maxEntryBytes) {
                    stream.destroy(new Error(`${p}: exceeds the ${maxEntryBytes} byte cap`));
                    return;
                  }
                  chunks.push(c);
                });
                stream.on('error', rej);
                stream.on('end', () => res(Buffer.concat(chunks)));
              });
            }),
        }),
      );
      zip.readEntry();
    });
  });
}
