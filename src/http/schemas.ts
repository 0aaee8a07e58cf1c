import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { PACKAGE_ROOT } from '../common/package-root';
import { badRequest } from './problem';
import { describeErrors } from '../artifacts/schema';

/**
 * Request schemas live as JSON files in `schemas/` (readable by clients and reviewers), compiled
 * once by Ajv. A failure is a 400 whose detail names every offending member.
 */
const ROOT = path.join(PACKAGE_ROOT, 'schemas');
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const compiled = new Map<string, ValidateFunction>();

/** Compiled at the first request that needs it: an idle server holds no generated validators. */
export function requestValidator(name: string): (body: unknown) => void {
  const title = name.replace(/^.*\//, '').replace(/\.json$/, '');
  return (body) => {
    let fn = compiled.get(name);
    if (!fn) {
      fn = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, name), 'utf8')));
      compiled.set(name, fn);
    }
    if (!fn(body)) throw badRequest(`${title}: ${describeErrors(fn.errors ?? []) || 'invalid'}`);
  };
}
