import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The ETSI TST010 JSON schemas of SOL005 NSD Management (../shared/etsi/api-tests/SOL005/
 * NSDManagement-API/schemas), loaded from the shared folder and adapted *here* where they are wrong
 * against SOL005 v2.6.1 (docs/conformance.md, "TST010 NSD Management schemas"). Each adaptation
 * first asserts the defect it mends, so a corrected schema shows up. The files are never copied.
 */
export type NsdSchemaName =
  | 'NsdInfo' | 'NsdInfos' | 'PnfdInfo' | 'PnfdInfos' | 'NsdInfoModification' | 'PnfdInfoModification' | 'NsdmSubscription' | 'NsdmSubscriptions'
  | 'NsdOnboardingNotification' | 'NsdOnboardingFailureNotification' | 'NsdChangeNotification' | 'NsdDeletionNotification'
  | 'PnfdOnboardingNotification' | 'PnfdOnboardingFailureNotification' | 'PnfdDeletionNotification' | 'ProblemDetails' | 'ApiVersionInformation';

const review = 'schema changed: review docs/conformance.md';

export function loadNsdSchemas(shared: string): Record<NsdSchemaName, ValidateFunction> {
  const dir = path.join(shared, 'etsi', 'api-tests', 'SOL005', 'NSDManagement-API', 'schemas');
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, `${f}.schema.json`), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  // ProblemDetails type/instance: format "URI" (upper case), which no validator knows; RFC 7807 URI references.
  ajv.addFormat('URI', { validate: (s: string) => ajv.validate({ type: 'string', format: 'uri-reference' }, s) });

  // 1. Links are declared format "url" (absolute); Depot sends server-relative URI references
  //    (RFC 3986 §4.1), which SOL013's Uri type admits (as for VNF packages).
  const relativeLinks = (links: any) => {
    for (const l of Object.values<any>(links.properties)) {
      assert.equal(l.properties.href.format, 'url', review);
      l.properties.href.format = 'uri-reference';
    }
  };
  // 2. ProblemDetails in PnfdInfo and both failure notifications requires "statussss" (a typo of status).
  const status = (problem: any) => {
    if (problem.required.includes('statussss')) problem.required = problem.required.map((r: string) => (r === 'statussss' ? 'status' : r));
    assert.deepEqual(problem.required, ['status', 'detail'], review);
  };
  const nsdInfo = (s: any) => {
    // 3. NsdOnboardingStateType lacks ERROR (SOL005 v2.6.1 5.5.4.5 has it).
    assert.deepEqual(s.properties.nsdOnboardingState.enum, ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED'], review);
    s.properties.nsdOnboardingState.enum.push('ERROR');
    status(s.properties.onboardingFailureDetails);
    relativeLinks(s.properties._links);
    return s;
  };
  const pnfdInfo = (s: any) => {
    // 4. PnfdOnboardingStateType spells ONBOARDED "ONBOARDING" and lacks ERROR (5.5.4.6).
    assert.deepEqual(s.properties.pnfdOnboardingState.enum, ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDING'], review);
    s.properties.pnfdOnboardingState.enum = ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED', 'ERROR'];
    // 5. userDefinedData typed as an array of objects; SOL005: KeyValuePairs, an object.
    assert.equal(s.properties.userDefinedData.type, 'array', review);
    s.properties.userDefinedData = { type: 'object' };
    status(s.properties.onboardingFailureDetails);
    relativeLinks(s.properties._links);
    return s;
  };
  const notification = (name: string, failure = false) => {
    const s = read(name);
    relativeLinks(s.properties._links);
    if (failure) status(s.properties.onboardingFailureDetails);
    return s;
  };
  const subscription = (s: any) => {
    relativeLinks(s.properties._links);
    return s;
  };
  // 6. NsdInfoModification types userDefinedData as an array of objects (an object: KeyValuePairs,
  //    merged per RFC 7396); NsdInfoModifications (plural) wraps the whole type in an array.
  const modification = read('NsdInfoModification');
  assert.equal(modification.properties.userDefinedData.type, 'array', review);
  modification.properties.userDefinedData = { type: 'object' };

  const infos = read('NsdInfos');
  infos.items = nsdInfo(infos.items);
  const pnfdInfos = read('PnfdInfos');
  pnfdInfos.items = pnfdInfo(pnfdInfos.items);
  const subs = read('NsdmSubscriptions');
  subs.items = subscription(subs.items);
  const schemas: Record<NsdSchemaName, unknown> = {
    NsdInfo: nsdInfo(read('NsdInfo')),
    NsdInfos: infos,
    PnfdInfo: pnfdInfo(read('PnfdInfo')),
    PnfdInfos: pnfdInfos,
    NsdInfoModification: modification,
    PnfdInfoModification: read('PnfdInfoModification'),
    NsdmSubscription: subscription(read('NsdmSubscription')),
    NsdmSubscriptions: subs,
    NsdOnboardingNotification: notification('NsdOnboardingNotification'),
    NsdOnboardingFailureNotification: notification('NsdOnboardingFailureNotification', true),
    NsdChangeNotification: notification('NsdChangeNotification'),
    NsdDeletionNotification: notification('NsdDeletionNotification'),
    PnfdOnboardingNotification: notification('PnfdOnboardingNotification'),
    PnfdOnboardingFailureNotification: notification('PnfdOnboardingFailureNotification', true),
    PnfdDeletionNotification: notification('PnfdDeletionNotification'),
    ProblemDetails: read('ProblemDetails'),
    ApiVersionInformation: read('ApiVersionInformation'),
  };
  return Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, ajv.compile(v as object)])) as Record<NsdSchemaName, ValidateFunction>;
}
