import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';

const VALID = `tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    server:
      type: tosca.nodes.Compute
`;
const BROKEN = `tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    server:
      type: tosca.nodes.NoSuchType
`;

describe('tosca_templates: the template is validated on upload (built-in post_upload hook)', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const create = async () => ((await (await d.request('POST', '/artifacts/tosca_templates', { json: { name: `t-${Math.random()}` } })).json()) as any).id as string;
  const put = (id: string, body: string) => d.request('PUT', `/artifacts/tosca_templates/${id}/template`, { body, headers: { 'Content-Type': 'application/yaml' } });

  it('accepts a valid template and serves it back byte-exact from the database store', async () => {
    const id = await create();
    assert.equal((await put(id, VALID)).status, 200);
    const res = await d.request('GET', `/artifacts/tosca_templates/${id}/template`);
    assert.equal(await res.text(), VALID);
  });

  it('refuses an invalid template with a located finding and keeps the previous one', async () => {
    const id = await create();
    await put(id, VALID);
    const res = await put(id, BROKEN);
    assert.equal(res.status, 422);
    const problem = (await res.json()) as any;
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const f = problem.findings.find((x: any) => x.severity === 'error');
    assert.equal(f.rule, 'TOSCA-UNKNOWN-TYPE');
    assert.equal(f.line, 5);
    const kept = await d.request('GET', `/artifacts/tosca_templates/${id}/template`);
    assert.equal(await kept.text(), VALID);
  });
});
