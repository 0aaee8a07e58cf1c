import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import Router from '@koa/router';
import { defaultModules } from '../../src/modules';
import { filesModule } from '../../src/modules/files/module';
import { DepotModule, typeRegistry } from '../../src/modules/module';
import { startTestDepot } from '../helpers/depot';

describe('modules: composed explicitly', () => {
  it('the default composition serves the five built-in modules, types in their order', async () => {
    assert.deepEqual(defaultModules().map((m) => m.name), ['images', 'tosca-templates', 'files', 'vnf-packages', 'ns-descriptors']);
    const d = await startTestDepot();
    try {
      const schemas = (await (await d.request('GET', '/schemas')).json()) as { schemas: Record<string, unknown> };
      assert.deepEqual(Object.keys(schemas.schemas), ['images', 'tosca_templates', 'files', 'vnf_packages', 'ns_descriptors', 'pnf_descriptors']);
      assert.equal((await d.request('GET', '/vnfpkgm/v2/vnf_packages')).status, 200);
      assert.equal((await d.request('GET', '/nsd/v1/ns_descriptors')).status, 200);
    } finally {
      await d.close();
    }
  });

  it('a Depot runs exactly the modules it is given: their types, routers, public paths, start and stop', async () => {
    const calls: string[] = [];
    const widgets: DepotModule = {
      name: 'widgets',
      types: [{ name: 'widgets', displayName: 'Widgets', schemaVersion: '1.0', fields: { colour: { kind: 'string' } } }],
      setup({ engine }) {
        calls.push(`setup ${engine.types.names().join(',')}`);
        const r = new Router();
        r.get('/widgets/ping', (ctx) => {
          ctx.body = { pong: true };
        });
        r.get('/widgets/open', (ctx) => {
          ctx.body = { open: true };
        });
        return {
          routers: [r],
          publicPaths: [/^\/widgets\/open$/],
          start: () => void calls.push('start'),
          stop: async () => void calls.push('stop'),
        };
      },
    };
    const d = await startTestDepot({}, { modules: [filesModule, widgets] });
    try {
      const schemas = (await (await d.request('GET', '/schemas')).json()) as { schemas: Record<string, unknown> };
      assert.deepEqual(Object.keys(schemas.schemas), ['files', 'widgets']);
      assert.deepEqual(await (await d.request('GET', '/widgets/ping')).json(), { pong: true });
      assert.equal((await d.request('GET', '/widgets/ping', { as: null as any })).status, 401);
      assert.deepEqual(await (await d.request('GET', '/widgets/open', { as: null as any })).json(), { open: true });
      const created = await d.request('POST', '/artifacts/widgets', { json: { name: 'w', colour: 'red' } });
      assert.equal(created.status, 201);
      // No SOL005 without the vnf-packages module, and no vnf_packages type behind the generic API.
      assert.equal((await d.request('GET', '/vnfpkgm/v2/vnf_packages')).status, 404);
      assert.equal((await d.request('GET', '/artifacts/vnf_packages')).status, 404);
      assert.equal((await d.request('GET', '/nsd/v1/ns_descriptors')).status, 404);
    } finally {
      await d.close();
    }
    assert.deepEqual(calls, ['setup files,widgets', 'start', 'stop']);
  });

  it('refuses two modules that bring the same type, naming the module', () => {
    const twin: DepotModule = { name: 'twin', types: filesModule.types };
    assert.throws(() => typeRegistry([filesModule, twin]), /module twin: artifact type files is already registered/);
  });

  it('composing the modules loads no runtime: `depot gc` reads the types alone (no routes, pipeline, validator, engine or app)', () => {
    const script = `
      require('./src/gc-command');
      const { typeRegistry } = require('./src/modules/module');
      typeRegistry(require('./src/modules').defaultModules()).all();
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { encoding: 'utf8' }));
    const ours = loaded.filter((f) => f.includes('/src/') && !f.includes('node_modules'));
    assert.ok(ours.some((f) => f.endsWith('src/modules/vnf-packages/type.ts')), 'the type is read');
    assert.ok(ours.some((f) => f.endsWith('src/modules/ns-descriptors/type.ts')), 'the NSD and PNFD types are read');
    const heavy = ours.filter((f) => /src\/(tosca|http|packages|jobs|net)\/|(vnf-packages|ns-descriptors)\/(runtime|notifications|profile|api\/)|src\/(app|service)\.ts$|artifacts\/engine\.ts$/.test(f));
    assert.deepEqual(heavy, []);
  });
});
