import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, PATCH, problem, uniq } from '../artifacts/helpers';
import { createPackage, V1 } from '../vnf-package/helpers';

/** `depth` nested objects around `leaf`: {"a":{"a":...}} */
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * JSON nested thousands of levels deep (a few KB) overflowed the stack of whatever walked it
 * (JSON.stringify, merge patch, the patch engine): a 500. Bodies deeper than http.maxJsonDepth are
 * a 400 before anything recurses over them.
 */
describe('JSON request bodies nested too deep', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const send = (method: string, path: string, body: string, type = 'application/json') => d.request(method, path, { body, headers: { 'Content-Type': type } });

  it('5,000 levels in userDefinedData, a merge patch or a JSON Patch value are a 400 naming the limit and where', async () => {
    const pkg = await createPackage(d);
    const a = await create(d, 'files', { name: uniq('deep') });
    const cases: [string, string, string, string?][] = [
      ['POST', `${V1}/vnf_packages`, `{"userDefinedData":${nested(5000)}}`],
      ['PATCH', `${V1}/vnf_packages/${pkg.id}`, `{"userDefinedData":${nested(5000)}}`, 'application/merge-patch+json'],
      ['PATCH', `/artifacts/files/${a.id}`, `[{"op":"add","path":"/metadata/k","value":${nestedArrays(5000)}}]`, PATCH['Content-Type']],
      ['POST', '/artifacts/files', `{"name":"x","metadata":${nested(5000, '"s"')}}`],
    ];
    for (const [method, path, body, type] of cases) {
      const p = await problem(await send(method, path, body, type), 400, /nested deeper than 64 levels.*line 1, column \d+/);
      assert.equal(p.code, 'INVALID_INPUT', `${method} ${path}`);
    }
  });

  it('brackets inside strings do not count; depth up to the limit is accepted', async () => {
    const r = await d.request('POST', `${V1}/vnf_packages`, { json: { userDefinedData: { s: '[[[[{{{{'.repeat(1000), '"\\[': 1 } } });
    assert.equal(r.status, 201, await r.text());
    // The body's own object is level 1, userDefinedData's objects levels 2 to 64.
    const ok = await send('POST', `${V1}/vnf_packages`, `{"userDefinedData":${nested(63)}}`);
    assert.equal(ok.status, 201, await ok.text());
    await problem(await send('POST', `${V1}/vnf_packages`, `{"userDefinedData":${nested(64)}}`), 400, /64 levels.*line 1, column 335$/);
  });

  it('the limit is http.maxJsonDepth, and the line and column of the culprit are named', async () => {
    const small = await startTestDepot({ http: { maxJsonDepth: 3 } });
    try {
      const body = '{\n  "userDefinedData": {\n    "a": [ [1] ]\n  }\n}';
      const p = await problem(await small.request('POST', `${V1}/vnf_packages`, { body, headers: { 'Content-Type': 'application/json' } }), 400);
      assert.match(p.detail, /nested deeper than 3 levels \(http\.maxJsonDepth\) at line 3, column 12/);
      const flat = await small.request('POST', `${V1}/vnf_packages`, { json: { userDefinedData: { a: [1] } } });
      assert.equal(flat.status, 201, await flat.text());
    } finally {
      await small.close();
    }
  });
});
