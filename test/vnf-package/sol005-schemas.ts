import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The ETSI TST010 JSON schemas (../shared/etsi/api-tests/{SOL005,SOL003}/VNFPackageManagement-API/schemas:
 * the NFVO's SOL005 interface, or the VNFM's SOL003 view of it), loaded from the shared folder and
 * adapted *here* where they are wrong against the spec (see docs/conformance.md, "ETSI api-tests
 * schemas"; both sets share the same VnfPkgInfo defects). The files are never copied into the repository.
 */
export interface Sol005Schemas {
  vnfPkgInfo: ValidateFunction;
  vnfPkgsInfo: ValidateFunction;
  problemDetails: ValidateFunction;
  apiVersions: ValidateFunction;
}

export function loadSchemas(shared: string, api: 'SOL005' | 'SOL003' = 'SOL005'): Sol005Schemas {
  const dir = path.join(shared, 'etsi', 'api-tests', api, 'VNFPackageManagement-API', 'schemas');
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  // ProblemDetails.type/instance are declared with format "URI" (upper case), which no validator
  // knows. RFC 7807 (and 9457) define both as URI *references*; `instance` is the request path.
  ajv.addFormat('URI', { validate: (s: string) => ajv.validate({ type: 'string', format: 'uri-reference' }, s) });

  const adaptInfo = (info: any) => {
    // 1. PackageOnboardingStateType lacks ERROR (SOL005 v2.6.1 9.5.4.4 has it; so does the 1.3.0 API).
    assert.deepEqual(info.properties.onboardingState.enum, ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED'], 'schema changed: review docs/conformance.md');
    info.properties.onboardingState.enum.push('ERROR');
    // 2. _links hrefs are declared format "url" (absolute); Depot, like Tacker, sends server-relative
    //    URI references (RFC 3986 §4.1), which SOL013's Uri type admits.
    for (const l of ['self', 'vnfd', 'packageContent']) {
      assert.equal(info.properties._links.properties[l].properties.href.format, 'url', 'schema changed: review docs/conformance.md');
      info.properties._links.properties[l].properties.href.format = 'uri-reference';
    }
    // 3. onboardingFailureDetails (ProblemDetails) exists since SOL005 v2.6.1; the schema predates it
    //    but does not forbid extra members, so nothing to adapt. Likewise vnfmInfo.
    return info;
  };
  const info = adaptInfo(read('vnfPkgInfo.schema.json'));
  const list = read('vnfPkgsInfo.schema.json');
  list.items = adaptInfo(list.items);
  return {
    vnfPkgInfo: ajv.compile(info),
    vnfPkgsInfo: ajv.compile(list),
    problemDetails: ajv.compile(read('ProblemDetails.schema.json')),
    apiVersions: ajv.compile(read('ApiVersionInformation.schema.json')),
  };
}

export function assertValid(validate: ValidateFunction, body: unknown, what = 'body'): void {
  const ok = validate(body);
  assert.ok(ok, `${what} does not validate: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body).slice(0, 2000)}`);
}
