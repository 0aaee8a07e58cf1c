import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { bestOf, blobFile, cpuSeconds, curlWith, ensurePostgres, printRows, procStatus, Row, sql, startServer, timeSha256sum } from './repository';

/**
 * Image API benchmark (issue 12), on a real PostgreSQL server with Depot in a child process: one
 * image uploaded with `PUT /image/v2/images/{id}/file` (MD5 and SHA-512 computed on the way, beside
 * the SHA-256 of content addressing) and downloaded with `GET …/file`, both against `sha256sum` of
 * the same file, with the server's peak RSS. The client is curl, as glanceclient and openstacksdk
 * stream. DEPOT_BENCH_IMAGE_MIB sets the image size (default 1024), DEPOT_BENCH_RUNS the runs (best of).
 */
const PG = process.env.DEPOT_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432';
const MIB = Number(process.env.DEPOT_BENCH_IMAGE_MIB ?? 1024);
const RUNS = Number(process.env.DEPOT_BENCH_RUNS ?? 2);

export async function benchImageApi(): Promise<void> {
  if (spawnSync('curl', ['--version']).status !== 0) throw new Error('curl is needed for the Image API bench');
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  ensurePostgres();
  const dbName = `depot_bench_img_${Date.now()}`;
  await sql('postgres', `CREATE DATABASE ${dbName}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-bench-img-'));
  const token = randomBytes(20).toString('hex');
  fs.writeFileSync(path.join(dataDir, 'tokens.yaml'), YAML.stringify({ tokens: [{ token, user: 'bench', project: 'bench', roles: ['member'] }] }));
  fs.writeFileSync(path.join(dataDir, 'config.yaml'), YAML.stringify({ types: { images: { maxBlobSize: '16GiB' } } }));
  const { child, url } = await startServer({
    DEPOT_DATA_DIR: dataDir, DEPOT_DATABASE_URL: `${PG}/${dbName}`, DEPOT_CONFIG: path.join(dataDir, 'config.yaml'),
    DEPOT_PORT: '0', DEPOT_HOST: '127.0.0.1', DEPOT_LOG_LEVEL: 'warn', DEPOT_AUTH: 'tokens',
  });
  const api = `${url}/image/v2`;
  const curl = curlWith(`X-Auth-Token: ${token}`);
  const json = async (args: string[]) => {
    const r = await curl(args);
    if (r.code !== 0) throw new Error(`curl ${args.join(' ')}: ${r.out}`);
    return JSON.parse(r.out);
  };
  const rows: Row[] = [];
  try {
    const file = blobFile(MIB);
    const size = fs.statSync(file).size;
    const ref = timeSha256sum(file);
    const md5 = spawnSync('md5sum', [file], { encoding: 'utf8' }).stdout.split(/\s/)[0];
    const idleRss = procStatus(child.pid!, 'VmRSS');
    const best = (fn: () => Promise<number>) => bestOf(child.pid!, RUNS, fn);
    let id = '';
    const cpu: number[] = [];
    const up = await best(async () => {
      const image = await json(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' }), `${api}/images`]);
      id = image.id;
      const cpu0 = cpuSeconds(child.pid!);
      const t0 = process.hrtime.bigint();
      // -T sends the file with its Content-Length; no 'Expect: 100-continue' round trip.
      const r = await curl(['-T', file, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '-w', '%{http_code}', `${api}/images/${id}/file`]);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      cpu.push(cpuSeconds(child.pid!) - cpu0);
      if (r.code !== 0 || r.out !== '204') throw new Error(`upload: curl ${r.code} ${r.out}`);
      const shown = await json([`${api}/images/${id}`]);
      if (shown.status !== 'active' || shown.size !== size || shown.checksum !== md5 || !/^[0-9a-f]{128}$/.test(shown.os_hash_value ?? '')) {
        throw new Error(`after upload: ${JSON.stringify(shown)} (md5sum ${md5})`);
      }
      return s;
    });
    const down = await best(async () => {
      spawnSync('sync');
      const t0 = process.hrtime.bigint();
      const r = await curl(['-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${api}/images/${id}/file`]);
      if (r.code !== 0 || r.out !== `200 ${size}`) throw new Error(`download: curl ${r.code} ${r.out}`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    const mib = size / 2 ** 20;
    const gib = size / 2 ** 30;
    rows.push(
      { metric: `sha256sum ${mib} MiB (reference, best of 2)`, value: `${ref.seconds.toFixed(2)} s`, target: '', ok: true },
      { metric: `upload PUT …/file, MD5 + SHA-512 + SHA-256 (best of ${RUNS})`, value: `${up.result.toFixed(2)} s (${(mib / up.result).toFixed(0)} MiB/s)`, ratio: `${(up.result / ref.seconds).toFixed(2)}x`, target: '<= 1.00x', ok: up.result <= ref.seconds },
      { metric: 'upload server CPU, user+sys per GiB (info, lowest)', value: `${(Math.min(...cpu) / gib).toFixed(2)} s/GiB`, target: '', ok: true },
      { metric: `download GET …/file, bytes discarded (best of ${RUNS})`, value: `${down.result.toFixed(2)} s (${(mib / down.result).toFixed(0)} MiB/s)`, ratio: `${(down.result / ref.seconds).toFixed(2)}x`, target: '<= 0.25x', ok: down.result <= ref.seconds * 0.25 },
      { metric: 'server RSS when idle (info)', value: `${(idleRss / 2 ** 20).toFixed(0)} MB`, target: '', ok: true },
      { metric: 'server peak RSS, upload', value: `${(up.peak / 2 ** 20).toFixed(0)} MB`, target: '<= 150 MB', ok: up.peak <= 150 * 2 ** 20 },
      { metric: 'server peak RSS, download', value: `${(down.peak / 2 ** 20).toFixed(0)} MB`, target: '<= 150 MB', ok: down.peak <= 150 * 2 ** 20 },
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r)).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
    await sql('postgres', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  }
  printRows(`image api (real PostgreSQL, Depot server in a child process, ${os.cpus().length} CPUs, load average before: ${load})`, rows);
}
