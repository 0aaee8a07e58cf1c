import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestDepot, TestDepot, TestUser } from '../helpers/depot';
import { GLANCE, OPENSTACK, row, run, skipWithoutClients, succeeds } from './openstack-clients';

/**
 * The Image API driven by the real clients from Debian, as a new user types the commands:
 * python3-glanceclient 4.1 (`glance --os-image-url http://<depot>/image --os-auth-token …`) and
 * python3-openstackclient 6.0 (`openstack --os-auth-type admin_token --os-endpoint …/image/v2`, and
 * a clouds.yaml with `image_endpoint_override`). Each client gets a fresh HOME (glanceclient caches
 * the image schema there) and no OS_* variables from the environment. Skipped, saying why, where
 * the clients are not installed (.ci/run installs them).
 */
describe('e2e: python-glanceclient and openstackclient against the Image API', function () {
  this.timeout(300_000);
  const missing = skipWithoutClients();
  let d: TestDepot;
  let work: string;
  let image: string;
  let data: Buffer;

  before(async function () {
    if (missing) return;
    // Projects named as Keystone names them (32 hex digits): openstackclient takes a UUID-like
    // project as it is, where it would otherwise look a name up in Keystone.
    const user = (name: string) => ({ token: randomBytes(20).toString('hex'), user: name, project: randomBytes(16).toString('hex') });
    const alice = user('alice');
    d = await startTestDepot({}, { users: { admin: user('admin'), alice, alice2: { ...user('alice2'), project: alice.project }, bob: user('bob'), reader: { ...user('reader'), project: alice.project } } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-glance-e2e-'));
    data = randomBytes(1_500_000);
    image = path.join(work, 'disk.img');
    fs.writeFileSync(image, data);
  });
  after(async () => {
    await d?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const home = () => fs.mkdtempSync(path.join(work, 'home-'));
  const glance = (as: TestUser, h: string) => (...args: string[]) =>
    run(GLANCE, ['--os-image-url', `${d.url}/image`, '--os-auth-token', as.token, ...args], { HOME: h });
  const osc = (as: TestUser, h: string) => (...args: string[]) =>
    run(OPENSTACK, ['--os-auth-type', 'admin_token', '--os-endpoint', `${d.url}/image/v2`, '--os-token', as.token, ...args], { HOME: h });
  const same = (file: string) => assert.ok(fs.readFileSync(file).equals(data), `${file} is not the uploaded image`);

  it('glance: create with --file, list (filter, sort), show, download, update/remove properties, tags, members, deactivate, delete', async () => {
    const { alice, bob } = d.users;
    const g = glance(alice, home());
    const gb = glance(bob, home());
    const name = `cirros-${randomBytes(3).toString('hex')}`;
    // A property of this run alone: other tests' public images are in the lists too.
    const mark = `e2e_run=${randomBytes(4).toString('hex')}`;
    const created = succeeds(await g('image-create', '--name', name, '--disk-format', 'qcow2', '--container-format', 'bare', '--property', 'os_distro=cirros', '--property', mark, '--file', image), 'image-create');
    const id = row(created, 'id')!;
    assert.match(id, /^[0-9a-f-]{36}$/, created);
    assert.equal(row(created, 'status'), 'active');
    assert.equal(row(created, 'size'), String(data.length));

    const listed = succeeds(await g('image-list', '--property-filter', 'os_distro=cirros', '--property-filter', mark, '--sort', 'name:asc'), 'image-list');
    assert.match(listed, new RegExp(`${id}\\s*\\|\\s*${name}`));
    assert.match(succeeds(await g('image-list', '--property-filter', mark, '--sort-key', 'name', '--sort-dir', 'desc', '--limit', '5'), 'image-list --sort-key'), new RegExp(id));
    assert.doesNotMatch(succeeds(await g('image-list', '--property-filter', 'os_distro=other'), 'image-list'), new RegExp(id));

    const shown = succeeds(await g('image-show', id), 'image-show');
    assert.equal(row(shown, 'os_distro'), 'cirros');
    assert.match(row(shown, 'checksum') ?? '', /^[0-9a-f]{32}$/);

    // The client checks the download against os_hash_value (sha512).
    const out = path.join(work, 'glance-out.img');
    succeeds(await g('image-download', '--file', out, id), 'image-download');
    same(out);

    const updated = succeeds(await g('image-update', '--property', 'hw_disk_bus=scsi', '--min-ram', '64', '--name', `${name}-2`, id), 'image-update');
    assert.equal(row(updated, 'hw_disk_bus'), 'scsi');
    assert.equal(row(updated, 'min_ram'), '64');
    assert.equal(row(updated, 'name'), `${name}-2`);
    const removed = succeeds(await g('image-update', '--remove-property', 'hw_disk_bus', id), 'image-update --remove-property');
    assert.equal(row(removed, 'hw_disk_bus'), undefined, removed);

    succeeds(await g('image-tag-update', id, 'golden'), 'image-tag-update');
    assert.match(row(succeeds(await g('image-show', id), 'image-show'), 'tags') ?? '', /golden/);
    succeeds(await g('image-tag-delete', id, 'golden'), 'image-tag-delete');
    assert.doesNotMatch(row(succeeds(await g('image-show', id), 'image-show'), 'tags') ?? '', /golden/);

    // Sharing: the other project sees a pending image by id, lists it once it accepted.
    succeeds(await g('member-create', id, bob.project), 'member-create');
    assert.match(succeeds(await gb('image-show', id), 'image-show by the member'), new RegExp(id));
    assert.doesNotMatch(succeeds(await gb('image-list'), 'image-list by the member'), new RegExp(id));
    succeeds(await gb('member-update', id, bob.project, 'accepted'), 'member-update');
    assert.match(succeeds(await gb('image-list'), 'image-list by the member'), new RegExp(id));
    assert.match(succeeds(await g('member-list', '--image-id', id), 'member-list'), new RegExp(`${bob.project}\\s*\\|\\s*accepted`));

    succeeds(await g('image-deactivate', id), 'image-deactivate');
    const refused = await g('image-download', '--file', path.join(work, 'refused.img'), id);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /deactivated/);
    succeeds(await g('image-reactivate', id), 'image-reactivate');
    succeeds(await gb('image-download', '--file', out, id), 'image-download by the member');
    same(out);

    succeeds(await g('image-delete', id), 'image-delete');
    const gone = await g('image-show', id);
    assert.notEqual(gone.code, 0);
    assert.match(gone.out, /No image found with ID/);
  });

  it('openstack (admin_token): create, list, show, save, set/unset, tags, add project and accept, deactivate/activate, delete', async () => {
    const { alice, bob } = d.users;
    const o = osc(alice, home());
    const ob = osc(bob, home());
    const name = `osc-${randomBytes(3).toString('hex')}`;
    succeeds(await o('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', image, '--property', 'os_distro=debian', name), 'image create');
    const shown = JSON.parse(succeeds(await o('image', 'show', name, '-f', 'json'), 'image show'));
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, data.length);
    assert.equal(shown.name, name);
    const id = shown.id as string;
    const list = JSON.parse(succeeds(await o('image', 'list', '--property', 'os_distro=debian', '--sort', 'name:asc', '-f', 'json'), 'image list'));
    assert.ok(list.some((i: any) => i.ID === id && i.Name === name), JSON.stringify(list));

    const out = path.join(work, 'osc-out.img');
    succeeds(await o('image', 'save', '--file', out, name), 'image save');
    same(out);

    succeeds(await o('image', 'set', '--property', 'k=v', '--tag', 'blue', '--min-ram', '128', name), 'image set');
    let s = JSON.parse(succeeds(await o('image', 'show', name, '-f', 'json'), 'image show'));
    assert.equal(s.properties.k, 'v');
    assert.equal(s.min_ram, 128);
    assert.deepEqual(s.tags, ['blue']);
    succeeds(await o('image', 'unset', '--property', 'k', '--tag', 'blue', name), 'image unset');
    s = JSON.parse(succeeds(await o('image', 'show', name, '-f', 'json'), 'image show'));
    assert.equal(s.properties.k, undefined);
    assert.deepEqual(s.tags, []);

    succeeds(await o('image', 'add', 'project', name, bob.project), 'image add project');
    // `openstack image set --accept` asks Keystone for the caller's project (auth_ref), which an
    // admin_token session does not have: the member accepts with glanceclient (README).
    succeeds(await glance(bob, home())('member-update', id, bob.project, 'accepted'), 'glance member-update');
    const bobs = JSON.parse(succeeds(await ob('image', 'list', '-f', 'json'), 'image list by the member'));
    assert.ok(bobs.some((i: any) => i.ID === id), JSON.stringify(bobs));

    succeeds(await o('image', 'set', '--deactivate', name), 'image set --deactivate');
    assert.equal(JSON.parse(succeeds(await o('image', 'show', name, '-f', 'json'), 'image show')).status, 'deactivated');
    succeeds(await o('image', 'set', '--activate', name), 'image set --activate');
    assert.equal(JSON.parse(succeeds(await o('image', 'show', name, '-f', 'json'), 'image show')).status, 'active');

    succeeds(await o('image', 'delete', name), 'image delete');
    assert.notEqual((await o('image', 'show', id)).code, 0);
  });

  it('openstack through a clouds.yaml whose image_endpoint_override is http://<depot>/image', async () => {
    const h = home();
    const file = path.join(h, 'clouds.yaml');
    fs.writeFileSync(file, [
      'clouds:', '  depot:', '    auth_type: admin_token', '    auth:', `      endpoint: ${d.url}/image`, `      token: ${d.users.alice.token}`,
      `    image_endpoint_override: ${d.url}/image`, '',
    ].join('\n'));
    const o = (...args: string[]) => run(OPENSTACK, ['--os-cloud', 'depot', ...args], { HOME: h, OS_CLIENT_CONFIG_FILE: file });
    const name = `cloud-${randomBytes(3).toString('hex')}`;
    succeeds(await o('image', 'create', '--disk-format', 'qcow2', '--file', image, name), 'image create');
    const list = JSON.parse(succeeds(await o('image', 'list', '-f', 'json'), 'image list'));
    assert.ok(list.some((i: any) => i.Name === name && i.Status === 'active'), JSON.stringify(list));
    const out = path.join(h, 'out.img');
    succeeds(await o('image', 'save', '--file', out, name), 'image save');
    same(out);
    succeeds(await o('image', 'delete', name), 'image delete');
  });
});
