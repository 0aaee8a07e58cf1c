import assert from 'node:assert/strict';
import { ImageView } from '../../src/modules/images/api/image';
import { compareImages, depotListParams, matchesImage, parseImageQuery } from '../../src/modules/images/api/list';

/** The Image API's list query: parsed once, run by the database (depotListParams) or in memory (matchesImage, compareImages). */
describe('Image API list query', () => {
  const q = (s: string) => parseImageQuery(new URLSearchParams(s));
  const image = (over: Partial<ImageView>): ImageView => ({
    id: '00000000-0000-4000-8000-000000000001', name: 'a', status: 'active', visibility: 'shared', protected: false, os_hidden: false, owner: 'p',
    size: 10, checksum: null, os_hash_value: null, disk_format: 'raw', container_format: 'bare', min_ram: 0, min_disk: 0, tags: [],
    created_at: new Date('2026-01-01T00:00:00Z'), updated_at: new Date('2026-01-01T00:00:00Z'), properties: {}, ...over,
  });

  it('reads both sort styles, limits, in: lists with quotes, and refuses what Glance refuses', () => {
    assert.deepEqual(q('sort=name:asc,size').sort, [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }]);
    assert.deepEqual(q('sort_key=name&sort_key=status&sort_dir=asc').sort, [{ key: 'name', dir: 'asc' }, { key: 'status', dir: 'asc' }]);
    assert.deepEqual(q('sort_key=name&sort_key=status&sort_dir=asc&sort_dir=desc').sort, [{ key: 'name', dir: 'asc' }, { key: 'status', dir: 'desc' }]);
    assert.equal(q('limit=5000').limit, 1000);
    assert.equal(q('').limit, 25);
    assert.deepEqual(q('name=in:"glass, darkly",share me').where, [{ property: 'name', op: 'in', values: ['glass, darkly', 'share me'] }]);
    assert.deepEqual(q('os_distro=in:x').where, [{ property: 'os_distro', op: 'eq', values: ['in:x'] }]);
    assert.deepEqual(q('tag=a&tag=b').tags, ['a', 'b']);
    for (const bad of ['sort=owner', 'sort=name:up', 'sort=name&sort_key=id', 'sort_key=name&sort_key=id&sort_dir=asc&sort_dir=asc&sort_dir=desc',
      'limit=x', 'visibility=everyone', 'member_status=maybe', 'changes-since=2020-01-01', 'created_at=since:2020', 'updated_at=gte:yesterday', 'size_min=-1']) {
      assert.throws(() => q(bad), (e: any) => e.code === 'INVALID_INPUT', bad);
    }
  });

  it("as a generic list query: the caller's images, public ones and accepted memberships, hidden and community images left out", () => {
    const p = { user: 'u', project: 'proj', role: 'member' as const, isAdmin: false };
    const params = depotListParams(q('os_distro=cirros&status=queued&size_max=9&kernel_id=k&sort=name:asc&limit=3'), p);
    assert.deepEqual(params.getAll('owner'), ['or:eq:proj']);
    assert.deepEqual(params.getAll('visibility'), ['or:eq:public']);
    assert.deepEqual(params.getAll('members.proj'), ['or:in:"accepted"']);
    assert.deepEqual(params.getAll('image_visibility'), ['neq:community']);
    assert.deepEqual(params.getAll('os_hidden'), ['eq:false']);
    assert.deepEqual(params.getAll('os_distro'), ['eq:cirros']);
    assert.deepEqual(params.getAll('status'), ['eq:drafted']);
    assert.deepEqual(params.getAll('killed'), ['neq:true']);
    assert.deepEqual(params.getAll('size'), ['lte:9']);
    assert.deepEqual(params.getAll('kernel_id'), ['eq:/artifacts/images/k']);
    assert.equal(params.get('sort'), 'name:asc');
    assert.equal(params.get('limit'), '3');
    const admin = depotListParams(q('visibility=community&hw_disk_bus=scsi'), { ...p, role: 'admin', isAdmin: true });
    assert.deepEqual([admin.get('visibility'), admin.get('image_visibility'), admin.get('owner'), admin.get('properties.hw_disk_bus')], ['eq:public', 'eq:community', null, 'eq:scsi']);
    assert.throws(() => depotListParams(q('status=deleted'), p), /status/);
  });

  it('in memory: the same filters and the same order', () => {
    const a = image({ name: 'b', size: 5, tags: ['x', 'y'], properties: { os_distro: 'cirros' } });
    assert.ok(matchesImage(a, q('os_distro=cirros&tag=x&size_min=5&name=in:a,b&created_at=gte:2025-12-31T00:00:00Z')));
    assert.ok(!matchesImage(a, q('os_distro=debian')));
    assert.ok(!matchesImage(a, q('tag=z')));
    assert.ok(!matchesImage(a, q('size_max=4')));
    assert.ok(!matchesImage(a, q('updated_at=gt:2026-01-01T00:00:00Z')));
    assert.ok(!matchesImage(image({ os_hidden: true }), q('')));
    assert.ok(matchesImage(image({ os_hidden: true }), q('os_hidden=true')));
    assert.ok(!matchesImage(image({ visibility: 'community' }), q('')));
    assert.ok(matchesImage(image({ visibility: 'community' }), q('visibility=community')));
    assert.ok(!matchesImage(image({ visibility: 'private' }), q('visibility=public')));
    const later = image({ id: '00000000-0000-4000-8000-000000000002', name: 'c', created_at: new Date('2026-02-01T00:00:00Z') });
    const unnamed = image({ id: '00000000-0000-4000-8000-000000000003', name: null });
    assert.deepEqual([a, later, unnamed].sort(compareImages(q(''))).map((i) => i.id.slice(-1)), ['2', '1', '3']);
    assert.deepEqual([later, unnamed, a].sort(compareImages(q('sort=name:asc'))).map((i) => i.name), ['b', 'c', null]);
    assert.deepEqual([a, later].sort(compareImages(q('sort=size:asc'))).map((i) => i.size), [5, 10]);
  });
});
