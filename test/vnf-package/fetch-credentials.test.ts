import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryTypes } from 'sequelize';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { assertError, assertOnboarded, buildPackage, createPackage, V1, waitFinal } from './helpers';

/**
 * Issue 9, "also check": upload_from_uri credentials are not kept in the database once the job
 * has ended, whether it succeeded, failed, or was given up after repeated interruptions. Every
 * table is searched for the secrets as text.
 */
describe('upload_from_uri credentials after the job (issue 9)', function () {
  const USER = `bot-${randomBytes(4).toString('hex')}`;
  const PASSWORD = `Pw-${randomBytes(12).toString('hex')}`;
  let server: http.Server;
  let base = '';
  let d: TestDepot;
  const files = new Map<string, Buffer>();

  before(async () => {
    server = http.createServer((req, res) => {
      const want = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      const file = files.get(req.url!);
      if (!file) return res.writeHead(404).end();
      if (req.headers.authorization !== want) return res.writeHead(401).end();
      res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': file.length }).end(file);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    d = await startTestDepot({ uploadFromUri: { allow: ['127.0.0.0/8'] }, onboarding: { maxAttempts: 3 } });
  });
  after(async () => {
    await d?.close();
    await new Promise((r) => server.close(r));
  });

  /** Rows of any table that contain `secret` as text (the whole row, every column); stored blob bytes aside. */
  async function rowsHolding(secret: string): Promise<string[]> {
    const q = d.depot.db.sequelize;
    const tables = await q.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'blob_chunks'`, { type: QueryTypes.SELECT });
    const hits: string[] = [];
    for (const { name } of tables) {
      const [{ n }] = await q.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}" t WHERE CAST(t AS text) LIKE :pattern`, { replacements: { pattern: `%${secret}%` }, type: QueryTypes.SELECT });
      if (Number(n)) hits.push(`${name}: ${n} row(s)`);
    }
    return hits;
  }

  async function assertForgotten(id: string): Promise<void> {
    const jobs = await d.depot.db.sequelize.query<{ state: string; payload: unknown }>(`SELECT state, payload FROM jobs WHERE artifact_id = :id`, { replacements: { id }, type: QueryTypes.SELECT });
    assert.ok(jobs.length >= 1);
    for (const j of jobs) {
      assert.ok(j.state === 'done' || j.state === 'failed', `job ended: ${j.state}`);
      assert.deepEqual(j.payload, {});
    }
    assert.deepEqual(await rowsHolding(PASSWORD), [], 'the password is nowhere in the database');
    assert.deepEqual(await rowsHolding(USER), [], 'nor the user name');
  }

  const fromUri = (id: string, body: unknown) => d.request('POST', `${V1}/vnf_packages/${id}/package_content/upload_from_uri`, { json: body });

  it('success: the package is onboarded and the credentials are gone', async () => {
    files.set('/ok.zip', await buildPackage({}));
    const p = await createPackage(d);
    assert.equal((await fromUri(p.id, { addressInformation: `${base}/ok.zip`, userName: USER, password: PASSWORD })).status, 202);
    assertOnboarded(await waitFinal(d, p.id));
    await assertForgotten(p.id);
  });

  it('failure (credentials given in the URI, the file is missing): ERROR, and the credentials are gone', async () => {
    const p = await createPackage(d);
    const u = new URL(`${base}/missing.zip`);
    u.username = USER;
    u.password = PASSWORD;
    assert.equal((await fromUri(p.id, { addressInformation: u.toString() })).status, 202);
    assertError(await waitFinal(d, p.id), 'VNFPKG-FETCH-FAILED');
    await assertForgotten(p.id);
  });

  it('give-up (the job was interrupted maxAttempts times): ERROR, and the credentials are gone', async () => {
    const p = await createPackage(d);
    // What three processes that died mid-fetch leave behind: the package UPLOADING, its fetch job
    // running under a lease that ran out, attempted three times (onboarding.maxAttempts).
    const q = d.depot.db.sequelize;
    await q.query(`UPDATE artifacts SET fields = fields || '{"onboardingState": "UPLOADING"}'::jsonb WHERE id = :id`, { replacements: { id: p.id } });
    await q.query(
      `INSERT INTO jobs (id, kind, artifact_id, state, attempts, payload, lease_until, project)
       VALUES (:job, 'vnf_package.fetch', :id, 'running', 3, :payload, now() - interval '1 minute', :project)`,
      { replacements: { job: randomUUID(), id: p.id, project: d.users.alice.project, payload: JSON.stringify({ uri: `${base}/ok.zip`, userName: USER, password: PASSWORD }) } },
    );
    assertError(await waitFinal(d, p.id), 'VNFPKG-PROCESSING-FAILED');
    await assertForgotten(p.id);
  });
});
