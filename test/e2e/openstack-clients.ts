import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** The Debian OpenStack clients the e2e tests drive (python3-glanceclient, python3-openstackclient), and how they run them. */
export const GLANCE = '/usr/bin/glance';
export const OPENSTACK = '/usr/bin/openstack';

export function installed(): string | undefined {
  for (const bin of [GLANCE, OPENSTACK]) if (!fs.existsSync(bin)) return `${bin} is not installed (apt-get install python3-glanceclient python3-openstackclient)`;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import glanceclient.v2.client, openstackclient.shell'], { cwd: '/', stdio: 'ignore' });
  return r.status === 0 ? undefined : 'the glanceclient/openstackclient Python modules are not importable by /usr/bin/python3';
}

export interface Run {
  code: number | null;
  out: string;
}

/** Runs a client asynchronously (the Depot under test answers from this process). Its stdin is /dev/null: the CLI reads image data from a non-terminal stdin. */
export function run(bin: string, args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...clean, ...env }, cwd: env.HOME, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('utf8') }));
  });
}

export const succeeds = (r: Run, what: string) => {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.out}`);
  return r.out;
};

/** The value of a row of the clients' property tables. */
export const row = (table: string, key: string) => new RegExp(`^\\|\\s*${key}\\s*\\|\\s*(.*?)\\s*\\|$`, 'm').exec(table)?.[1];

/** Skips every test of the calling suite, saying why, where the clients are missing; returns why (undefined: installed). */
export function skipWithoutClients(): string | undefined {
  const missing = installed();
  beforeEach(function () {
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
  });
  return missing;
}
