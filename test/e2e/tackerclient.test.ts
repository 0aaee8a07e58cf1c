import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Runs test/e2e/tackerclient.py: python-tackerclient (Debian python3-tackerclient) driving a real
 * Depot through create, upload (file and URI), list, show, update, downloads and delete.
 * Skipped, saying why, where the client is not installed (a fresh machine: see docs/tackerclient.md).
 */
const SCRIPT = path.join(__dirname, 'tackerclient.py');

/** The Debian package installs for the system interpreter, which may not be the `python3` on PATH. */
function pythonWithTackerclient(): string | undefined {
  const candidates = [process.env.TACKERCLIENT_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];
  for (const py of candidates) {
    if (py.startsWith('/') && !fs.existsSync(py)) continue;
    // Run from / so no local file shadows the library.
    const r = spawnSync(py, ['-c', 'import tackerclient.v1_0.client'], { cwd: '/', stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

describe('e2e: python-tackerclient against Depot', function () {
  this.timeout(300_000);
  const python = pythonWithTackerclient();

  it('create, upload (file and URI), list, show, update, download package/VNFD/artifact, delete', async function () {
    if (!python) {
      console.log('      skipped: python-tackerclient is not installed (apt-get install python3-tackerclient, or set TACKERCLIENT_PYTHON)');
      this.skip();
    }
    const env = { ...process.env };
    // CI's real PostgreSQL when the suite has one; else the script's Depot uses embedded PGlite.
    if (process.env.DEPOT_TEST_DATABASE_URL) env.DEPOT_DATABASE_URL = process.env.DEPOT_TEST_DATABASE_URL;
    const out: Buffer[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(python!, [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => out.push(c));
      child.on('error', reject);
      child.on('close', resolve);
    });
    const text = Buffer.concat(out).toString('utf8');
    if (code === 77) {
      console.log(`      skipped: ${text.trim()}`);
      this.skip();
    }
    assert.equal(code, 0, `tackerclient.py failed (exit ${code}):\n${text}`);
    assert.match(text, /PASS: \d+ checks/);
  });
});
