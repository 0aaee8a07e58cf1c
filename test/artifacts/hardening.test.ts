import assert from 'node:assert/strict';
import { databaseError } from '../../src/db/errors';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, patch, problem, uniq, upload } from './helpers';

/** Issue 9: what another project may learn, and which bytes it may read, through the generic API. */
describe('generic API hardening (issue 9)', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  describe('links from another project (finding 4)', () => {
    it("a delete refused because of links names only the sources the caller may see, and counts the others", async () => {
      const { alice, bob, admin } = d.users;
      // Bob shares his artifact with Alice's project; Alice links to it from her private artifact.
      const target = await create(d, 'files', { name: uniq('target'), shared_with: [alice.project] }, bob);
      const hidden = await create(d, 'files', { name: uniq('alices-private'), depends_on: `/artifacts/files/${target.id}` }, alice);
      const own = await create(d, 'files', { name: uniq('bobs-own'), links: { x: `/artifacts/files/${target.id}` } }, bob);

      const res = await d.request('DELETE', `/artifacts/files/${target.id}`, { as: bob });
      const text = await res.clone().text();
      const refused = await problem(res, 409, /linked from/);
      assert.equal(refused.code, 'LINKED');
      assert.ok(!text.includes(hidden.id), `the answer names Alice's private artifact: ${text}`);
      assert.ok(!text.includes('depends_on'), `the answer names the field of Alice's private artifact: ${text}`);
      assert.deepEqual(refused.linkedFrom, [{ id: own.id, type_name: 'files', field: 'links', key: 'x' }]);
      assert.equal(refused.linkedFromHidden, 1);
      assert.match(refused.detail, new RegExp(own.id));
      assert.match(refused.detail, /1 link\(s\) from artifacts not visible to you/);

      // The reverse lookup has the same rule.
      const lf = await json(await d.request('GET', `/artifacts/files/${target.id}/linked-from`, { as: bob }));
      assert.deepEqual(lf.linked_from.map((l: any) => l.id), [own.id]);

      // An admin sees every source.
      const forAdmin = await problem(await d.request('DELETE', `/artifacts/files/${target.id}`, { as: admin }), 409, new RegExp(hidden.id));
      assert.equal(forAdmin.linkedFrom.length, 2);
      assert.equal(forAdmin.linkedFromHidden, 0);

      // A link from another project still blocks (integrity): once Alice and Bob drop theirs, Bob deletes.
      assert.equal((await patch(d, 'files', own.id, [{ op: 'remove', path: '/links/x' }], { as: bob })).status, 200);
      const onlyHidden = await problem(await d.request('DELETE', `/artifacts/files/${target.id}`, { as: bob }), 409, /1 link\(s\) from artifacts not visible to you/);
      assert.deepEqual(onlyHidden.linkedFrom, []);
      assert.equal((await patch(d, 'files', hidden.id, [{ op: 'replace', path: '/depends_on', value: null }], { as: alice })).status, 200);
      assert.equal((await d.request('DELETE', `/artifacts/files/${target.id}`, { as: bob })).status, 204);
    });

    it("a link row that races a delete (23503) is named by its constraint, not by the row's key", () => {
      const source = '0b8c0000-0000-4000-8000-0000000000aa';
      const err = databaseError({
        original: {
          code: '23503', constraint: 'artifact_links_target_id_fkey',
          message: `update or delete on table "artifacts" violates foreign key constraint "artifact_links_target_id_fkey" on table "artifact_links"`,
          detail: `Key (id)=(${source}) is still referenced from table "artifact_links".`,
        },
      });
      assert.equal(err?.code, 'LINKED');
      assert.ok(!JSON.stringify({ detail: err.detail, ...err.extra }).includes(source));
    });
  });

  describe('a deactivated artifact shared with another project (finding 7)', () => {
    it('its blob, folder entries and folder listings answer 403 to the other project, 200 to the owner; its metadata stays readable', async () => {
      const { bob } = d.users;
      const a = await create(d, 'files', { name: uniq('deactivated'), shared_with: [bob.project] });
      assert.equal((await upload(d, 'files', a.id, 'content', 'main')).status, 200);
      assert.equal((await upload(d, 'files', a.id, 'tree/dir/x.txt', 'entry')).status, 200);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'deactivated' }])).status, 200);
      const urls = [`/artifacts/files/${a.id}/content`, `/artifacts/files/${a.id}/tree/dir/x.txt`, `/artifacts/files/${a.id}/tree`, `/artifacts/files/${a.id}/tree/dir/`];
      for (const url of urls) {
        const body = await problem(await d.request('GET', url, { as: bob }), 403, /deactivated/);
        assert.equal(body.code, 'LIFECYCLE_RULE', url);
        const res = await d.request('GET', url);
        assert.equal(res.status, 200, url);
        await res.arrayBuffer();
      }
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`, { as: bob }))).status, 'deactivated');
    });
  });

  describe('stored HTML is not served as a page (finding 9)', () => {
    const CSP = "default-src 'none'; frame-ancestors 'none'";
    const html = '<!doctype html><script>alert(document.cookie)</script>';

    it('a text/html blob and folder entry come back with nosniff, a CSP and as an attachment naming the file', async () => {
      const a = await create(d, 'files', { name: uniq('html') });
      const put = (field: string) => d.request('PUT', `/artifacts/files/${a.id}/${field}`, { body: html, headers: { 'Content-Type': 'text/html' } });
      assert.equal((await put('content')).status, 200);
      assert.equal((await put('tree/pages/index.html')).status, 200);
      for (const [url, name] of [[`/artifacts/files/${a.id}/content`, 'content'], [`/artifacts/files/${a.id}/tree/pages/index.html`, 'index.html']]) {
        for (const method of ['GET', 'HEAD']) {
          const res = await d.request(method, url);
          assert.equal(res.status, 200, url);
          assert.equal(res.headers.get('content-type'), 'text/html', 'the stored type is kept');
          assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${method} ${url}`);
          assert.equal(res.headers.get('content-disposition'), `attachment; filename="${name}"`, `${method} ${url}`);
          assert.equal(res.headers.get('content-security-policy'), CSP, `${method} ${url}`);
          if (method === 'GET') assert.equal(await res.text(), html);
        }
      }
      // A ranged read too.
      const part = await d.request('GET', `/artifacts/files/${a.id}/content`, { headers: { Range: 'bytes=0-4' } });
      assert.equal(part.status, 206);
      assert.match(part.headers.get('content-disposition') ?? '', /^attachment;/);
      assert.equal(part.headers.get('x-content-type-options'), 'nosniff');
    });

    it('a file name outside ASCII is sent as an RFC 6266 filename* beside an ASCII fallback', async () => {
      const a = await create(d, 'files', { name: uniq('utf8') });
      const path = `tree/${encodeURIComponent('résumé "1".txt')}`;
      assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/${path}`, { body: 'x', headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
      const res = await d.request('GET', `/artifacts/files/${a.id}/${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="r_sum_ _1_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.txt`);
    });

    it('every API answer carries nosniff and the CSP: JSON, ProblemDetails, health', async () => {
      for (const [url, status] of [['/artifacts/files', 200], ['/artifacts/nosuch', 404], ['/healthz', 200]] as const) {
        const res = await d.request('GET', url);
        assert.equal(res.status, status, url);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
        assert.equal(res.headers.get('content-security-policy'), CSP, url);
        await res.arrayBuffer();
      }
      const anonymous = await d.request('GET', '/artifacts/files', { as: null as any });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('content-security-policy'), CSP);
    });
  });
});
