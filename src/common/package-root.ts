import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where Depot's files are, whether it runs from its TypeScript sources (tests, tsx) or compiled into
 * dist/ (npm start, bin/depot). Data folders (tosca/, schemas/) are read from the package root in
 * both modes; code loaded at run time by file name (migrations/) from the code root, in the code's own
 * extension.
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The folder holding package.json, tosca/, schemas/. */
export const PACKAGE_ROOT = findPackageRoot(__dirname);
/** The folder holding src/ and migrations/ as they run: the package root under tsx, dist/ when compiled. */
export const CODE_ROOT = path.resolve(__dirname, '..', '..');
/** '.ts' under tsx, '.js' when compiled. */
export const CODE_EXT = path.extname(__filename);
