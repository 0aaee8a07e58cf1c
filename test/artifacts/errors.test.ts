import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROBLEMS, problemType } from '../../src/http/problem';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { onboard, V1 } from '../vnf-package/helpers';
import { create, problem, uniq } from './helpers';

/** Errors as data (issue 8): a stable code and type URI per problem, constraints named, documented. */
describe('errors: codes, type URIs, constraints', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const coded = async (res: Response, status: number, code: string, detail?: RegExp) => {
    const body = await problem(res, status, detail);
    assert.equal(body.code, code);
    assert.equal(body.type, `https://depot.invalid/problems/${code.toLowerCase().replace(/_/g, '-')}`);
    return body;
  };

  it('every problem carries its code and the type URI of that code (never about:blank)', async () => {
    await coded(await d.request('GET', '/artifacts/nosuch'), 404, 'NOT_FOUND', /unknown artifact type 'nosuch'/);
    await coded(await d.request('GET', '/artifacts/files?limit=x'), 400, 'INVALID_INPUT', /limit/);
    await coded(await d.request('GET', '/artifacts/files', { as: { ...d.users.alice, token: 'not-a-valid-token-at-all' } }), 401, 'UNAUTHENTICATED', /not valid/);
    await coded(await d.request('PUT', '/artifacts/files'), 405, 'METHOD_NOT_ALLOWED');
    const a = await create(d, 'files', { name: uniq('e') });
    await coded(await d.request('PATCH', `/artifacts/files/${a.id}`, { json: [{ op: 'test', path: '/description', value: 'other' }], headers: { 'Content-Type': 'application/json-patch+json' } }), 409, 'PATCH_TEST_FAILED');
    await coded(await d.request('PATCH', `/artifacts/files/${a.id}`, { json: [{ op: 'replace', path: '/description', value: 'x' }], headers: { 'Content-Type': 'application/json-patch+json', 'If-Match': '"nope"' } }), 412, 'PRECONDITION_FAILED');
    const activate = (value: string) => d.request('PATCH', `/artifacts/files/${a.id}`, { json: [{ op: 'replace', path: '/status', value }], headers: { 'Content-Type': 'application/json-patch+json' } });
    assert.equal((await activate('active')).status, 200);
    await coded(await activate('drafted'), 403, 'LIFECYCLE_RULE', /cannot change from active to drafted/);
  });

  it('a unique-constraint violation names the constraint that was hit', async () => {
    const name = uniq('u');
    await create(d, 'files', { name, version: '1.0' });
    const dup = await coded(await d.request('POST', '/artifacts/files', { json: { name, version: '1.0.0' } }), 409, 'UNIQUE_VIOLATION', /already exists.*artifacts_unique_private/);
    assert.equal(dup.constraint, 'artifacts_unique_private');
    // Not every 23505 is an artifact's name and version: a quota given twice says so.
    const quotas = await coded(await d.request('PUT', `/quotas/${uniq('p')}`, { as: d.users.admin, json: [{ type_name: 'files', maxBytes: 1 }, { type_name: 'files', maxBytes: 2 }] }), 409, 'UNIQUE_VIOLATION', /quota .* given twice.*quotas_pkey/);
    assert.equal(quotas.constraint, 'quotas_pkey');
  });

  it('a VNF package that is uploaded but not onboarded cannot be activated through the generic API (the type owns its activation)', async () => {
    // A body that is no CSAR: the upload is stored (the package blob exists), onboarding ends in ERROR.
    const info = await onboard(d, Buffer.from('not a zip at all'));
    assert.equal(info.onboardingState, 'ERROR');
    const res = await d.request('PATCH', `/artifacts/vnf_packages/${info.id}`, { json: [{ op: 'replace', path: '/status', value: 'active' }], headers: { 'Content-Type': 'application/json-patch+json' } });
    await coded(res, 403, 'LIFECYCLE_RULE', /a VNF package becomes active by onboarding \(PUT \.\.\.\/package_content\), not by PATCH/);
    const after = (await (await d.request('GET', `${V1}/vnf_packages/${info.id}`)).json()) as any;
    assert.equal(after.operationalState, 'DISABLED');
  });

  it('docs/errors.md lists every code with its status and type URI', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../docs/errors.md'), 'utf8');
    for (const [code, { status }] of Object.entries(PROBLEMS)) {
      const uri = problemType(code as keyof typeof PROBLEMS).replace('https://depot.invalid/problems/', '');
      assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\| \`${uri}\` \\|`), `${code} missing from docs/errors.md`);
    }
  });
});
