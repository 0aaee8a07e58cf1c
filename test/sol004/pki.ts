/**
 * A throw-away PKI built with the openssl CLI in a temp directory, so no private key is ever committed:
 * a root, an intermediate with pathlen:0, RSA-2048 and EC P-256 leaves, and the broken variants the
 * signature tests need (expired, not yet valid, no digitalSignature, RSA-1024, a rogue root with the
 * root's name, a CA below the pathlen:0 intermediate, an unrelated root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

const EXTENSIONS = `
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[ca0]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf_self]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
[leaf_crit]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:unknown to verifiers
[leaf_no_ds]
basicConstraints=critical,CA:FALSE
keyUsage=critical,keyEncipherment
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

// `openssl ca` is the only 3.0 command that can set past or future validity dates.
const CA_CONFIG = `
[ca]
default_ca = own
[own]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
`;

export class TestPki {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'depot-pki-'));
    writeFileSync(join(this.dir, 'ext.cnf'), EXTENSIONS);
    writeFileSync(join(this.dir, 'ca.cnf'), CA_CONFIG);
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '1000\n');
    mkdirSync(join(this.dir, 'issued'));
  }

  openssl(...args: string[]): Buffer {
    return execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  write(name: string, data: Buffer | string): string {
    writeFileSync(this.path(name), data);
    return this.path(name);
  }

  private newKey(name: string, key: string): void {
    if (key.startsWith('ec:')) this.openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${key.slice(3)}`, '-out', `${name}.key`);
    else this.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${key.slice(4)}`, '-out', `${name}.key`);
  }

  /** Self-signed certificate (a root unless `ext` says otherwise); `key` is "rsa:2048" or "ec:P-256". */
  root(name: string, cn: string, key = 'rsa:2048', ext = 'root'): void {
    this.newKey(name, key);
    this.openssl('req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '3650', '-sha256',
      '-config', 'ext.cnf', '-extensions', ext, '-out', `${name}.pem`);
  }

  /** A certificate for `name` issued by `issuer`; dates as `openssl ca` wants them (YYYYMMDDHHMMSSZ) when given. */
  issue(name: string, cn: string, issuer: string, ext: string, key = 'rsa:2048', dates?: { start: string; end: string }): void {
    this.newKey(name, key);
    this.openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-config', 'ext.cnf', '-out', `${name}.csr`);
    if (dates) {
      this.openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${name}.csr`,
        '-startdate', dates.start, '-enddate', dates.end, '-extfile', 'ext.cnf', '-extensions', ext, '-notext', '-out', `${name}.pem`);
    } else {
      this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`,
        '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '825', '-sha256',
        '-extfile', 'ext.cnf', '-extensions', ext, '-out', `${name}.pem`);
    }
  }

  /** Detached CMS over `content` (a file name in the PKI directory), PEM unless `-outform DER` is in `extra`. */
  sign(content: string, signer: string, extra: string[] = []): Buffer {
    return this.openssl('cms', '-sign', '-binary', '-in', content, '-signer', `${signer}.pem`, '-inkey', `${signer}.key`,
      '-outform', 'PEM', ...extra);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The common part of every signature test: root, pathlen:0 intermediate and an RSA leaf ("leaf").
 * Skips the suite, saying why, where openssl is not installed.
 */
export function basePkiOrSkip(ctx: Mocha.Context): TestPki {
  if (!hasOpenssl()) {
    console.log('    (skipped: the openssl CLI is not installed; it builds the test PKI)');
    ctx.skip();
  }
  const pki = new TestPki();
  pki.root('root', 'Depot Test Root');
  pki.issue('inter', 'Depot Test Intermediate', 'root', 'ca0');
  pki.issue('leaf', 'Vendor Signer RSA', 'inter', 'leaf');
  return pki;
}

/**
 * The broken and alternative signers of the signature tests, under the base PKI: EC P-256, no
 * digitalSignature, RSA-1024, expired, not yet valid, a CA below the pathlen:0 intermediate and its
 * leaf, an unrelated root and its leaf, and a rogue root named like the trusted root with its leaf.
 */
export function issueSignerVariants(pki: TestPki): void {
  pki.issue('ecleaf', 'Vendor Signer EC', 'inter', 'leaf', 'ec:P-256');
  pki.issue('nods', 'Vendor Signer No DS', 'inter', 'leaf_no_ds');
  pki.issue('weak', 'Vendor Signer RSA-1024', 'inter', 'leaf', 'rsa:1024');
  pki.issue('expired', 'Vendor Signer Expired', 'inter', 'leaf', 'rsa:2048', { start: '20200101000000Z', end: '20200201000000Z' });
  pki.issue('future', 'Vendor Signer Future', 'inter', 'leaf', 'rsa:2048', { start: '20990101000000Z', end: '20991231000000Z' });
  pki.issue('subca', 'Depot Test Sub CA', 'inter', 'ca');
  pki.issue('deep', 'Vendor Signer Too Deep', 'subca', 'leaf');
  pki.root('other', 'Unrelated Root');
  pki.issue('otherleaf', 'Vendor Signer Other Root', 'other', 'leaf');
  pki.root('rogue', 'Depot Test Root');
  pki.issue('rogueleaf', 'Vendor Signer Rogue', 'rogue', 'leaf');
}
