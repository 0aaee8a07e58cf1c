import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import {
  parseCertificates,
  parseTrustStore,
  readCertificateFile,
  readCmsDigestAlgorithm,
  verifyDetachedCms,
  type Cert,
  type CmsVerification,
} from '../../src/sol004';
import { basePkiOrSkip, issueSignerVariants, type TestPki } from './pki';

interface Case {
  name: string;
  /** The signature bytes (PEM or DER). */
  sig: () => Buffer;
  /** File name (in the PKI dir) of the bytes the signature is checked against. */
  content: string;
  /** Certificate files (in the PKI dir) given besides the CMS, as a `.cert` file would be. */
  extra?: string[];
  /** Trust store file; `null` for no trust store. */
  trust?: string | null;
  /** The error rules expected, exactly. */
  errors: string[];
  /** Our verdict differs from openssl's only by our key-usage / algorithm policy. */
  policyOnly?: boolean;
}

/** Rules that are Depot policy beyond `openssl cms -verify -purpose any`. */
const POLICY_RULES = new Set(['CERT-KEY-USAGE', 'SIG-WEAK-ALGORITHM', 'CERT-WEAK-KEY']);

async function streamedDigest(path: string, alg: string): Promise<string> {
  const h = createHash(alg);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

describe('sol004 detached CMS verification', function () {
  let pki: TestPki;
  const cases: Case[] = [];

  before(function () {
    pki = basePkiOrSkip(this);
    issueSignerVariants(pki);
    pki.issue('critleaf', 'Vendor Signer Unknown Critical', 'inter', 'leaf_crit');
    pki.issue('underleaf', 'Vendor Signer Under A Leaf', 'leaf', 'leaf');
    pki.root('selfsigned', 'Vendor Self-Signed Signer', 'rsa:2048', 'leaf_self');
    pki.write('pinned.pem', Buffer.concat([pki.read('root.pem'), pki.read('selfsigned.pem')]));
    pki.write('content.txt', 'TOSCA-Meta-File-Version: 1.0\nmanifest bytes\n\n');
    pki.write('other.txt', 'some other content\n');
    pki.write('trust.pem', pki.read('root.pem'));

    const sign = (signer: string, extra: string[] = [], content = 'content.txt') => () => pki.sign(content, signer, extra);
    const withInter = ['-certfile', pki.path('inter.pem')];
    cases.push(
      { name: 'valid RSA signer, chain in the CMS', sig: sign('leaf', withInter), content: 'content.txt', errors: [] },
      { name: 'valid EC P-256 signer', sig: sign('ecleaf', withInter), content: 'content.txt', errors: [] },
      { name: 'valid RSA-PSS signature', sig: sign('leaf', [...withInter, '-keyopt', 'rsa_padding_mode:pss']), content: 'content.txt', errors: [] },
      { name: 'valid, signer identified by subject key id', sig: sign('leaf', [...withInter, '-keyid']), content: 'content.txt', errors: [] },
      { name: 'valid, DER encoding', sig: sign('leaf', [...withInter, '-outform', 'DER']), content: 'content.txt', errors: [] },
      { name: 'valid, SHA-512 digest', sig: sign('leaf', [...withInter, '-md', 'sha512']), content: 'content.txt', errors: [] },
      {
        name: 'certificates only in extraCertificates (-nocerts)',
        sig: sign('leaf', ['-nocerts']),
        content: 'content.txt',
        extra: ['leaf.pem', 'inter.pem'],
        errors: [],
      },
      { name: 'no signer certificate anywhere (-nocerts, no certificate file)', sig: sign('leaf', ['-nocerts']), content: 'content.txt', errors: ['SIG-NO-SIGNER-CERT'] },
      { name: 'intermediate missing', sig: sign('leaf'), content: 'content.txt', errors: ['CERT-UNTRUSTED'] },
      {
        name: 'content changed after signing',
        sig: () => {
          const s = pki.sign('content.txt', 'leaf', withInter);
          pki.write('changed.txt', 'TOSCA-Meta-File-Version: 1.0\nmanifest bytes changed\n\n');
          return s;
        },
        content: 'changed.txt',
        errors: ['SIG-DIGEST-MISMATCH'],
      },
      { name: 'CMS over other content', sig: sign('leaf', withInter, 'other.txt'), content: 'content.txt', errors: ['SIG-DIGEST-MISMATCH'] },
      { name: 'untrusted root', sig: sign('otherleaf', ['-certfile', pki.path('other.pem')]), content: 'content.txt', errors: ['CERT-UNTRUSTED'] },
      {
        name: "rogue root with the trusted root's name, inside the CMS",
        sig: sign('rogueleaf', ['-certfile', pki.path('rogue.pem')]),
        content: 'content.txt',
        errors: ['CERT-UNTRUSTED'],
      },
      {
        name: "rogue root with the trusted root's name, not supplied",
        sig: sign('rogueleaf'),
        content: 'content.txt',
        errors: ['CERT-SIGNATURE-INVALID'],
      },
      { name: 'expired signer', sig: sign('expired', withInter), content: 'content.txt', errors: ['CERT-EXPIRED'] },
      { name: 'not-yet-valid signer', sig: sign('future', withInter), content: 'content.txt', errors: ['CERT-NOT-YET-VALID'] },
      { name: 'signer without digitalSignature', sig: sign('nods', withInter), content: 'content.txt', errors: ['CERT-KEY-USAGE'], policyOnly: true },
      { name: 'SHA-1 digest', sig: sign('leaf', [...withInter, '-md', 'sha1']), content: 'content.txt', errors: ['SIG-WEAK-ALGORITHM'], policyOnly: true },
      { name: 'RSA-1024 signer key', sig: sign('weak', withInter), content: 'content.txt', errors: ['CERT-WEAK-KEY'], policyOnly: true },
      {
        name: 'signature value altered',
        sig: () => {
          const der = pki.sign('content.txt', 'leaf', [...withInter, '-outform', 'DER']);
          der[der.length - 1] ^= 0x01;
          return der;
        },
        content: 'content.txt',
        errors: ['SIG-SIGNATURE-INVALID'],
      },
      {
        name: 'issuer is not a CA (CA:FALSE leaf signs the signer)',
        sig: sign('underleaf', ['-certfile', pki.write('underchain.pem', Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]))]),
        content: 'content.txt',
        // Three problems: no cA, no keyCertSign, and it sits below the pathlen:0 intermediate.
        errors: ['CERT-NOT-CA', 'CERT-KEY-USAGE', 'CERT-PATHLEN'],
      },
      {
        name: 'signer with an unknown critical extension',
        sig: sign('critleaf', withInter),
        content: 'content.txt',
        errors: ['CERT-CRITICAL-EXTENSION'],
      },
      { name: 'self-signed signer pinned in the trust store', sig: sign('selfsigned'), content: 'content.txt', trust: 'pinned.pem', errors: [] },
      { name: 'self-signed signer not in the trust store', sig: sign('selfsigned'), content: 'content.txt', errors: ['CERT-UNTRUSTED'] },
      { name: 'attached CMS over the same content', sig: sign('leaf', [...withInter, '-nodetach']), content: 'content.txt', errors: [] },
      {
        name: 'attached CMS embedding other content',
        sig: sign('leaf', [...withInter, '-nodetach'], 'other.txt'),
        content: 'content.txt',
        errors: ['SIG-CMS-ATTACHED-MISMATCH', 'SIG-DIGEST-MISMATCH'],
      },
      {
        name: 'garbage base64 in the PEM block',
        sig: () => Buffer.from('-----BEGIN CMS-----\nMIIB!!not*base64\n-----END CMS-----\n'),
        content: 'content.txt',
        errors: ['SIG-CMS-MALFORMED'],
      },
      { name: 'garbage DER', sig: () => Buffer.from([0x30, 0x82, 0x01, 0x00, 1, 2, 3]), content: 'content.txt', errors: ['SIG-CMS-MALFORMED'] },
      {
        name: 'a CA below the pathlen:0 intermediate signs the leaf',
        sig: sign('deep', ['-certfile', pki.write('deepchain.pem', Buffer.concat([pki.read('subca.pem'), pki.read('inter.pem')]))]),
        content: 'content.txt',
        errors: ['CERT-PATHLEN'],
      },
    );
  });

  after(() => pki?.dispose());

  async function run(c: Case, sig: Buffer): Promise<CmsVerification | { findings: ReturnType<typeof readCmsDigestAlgorithm>['findings']; verified: false }> {
    const file = 'Definitions/vnf.mf';
    const first = readCmsDigestAlgorithm(sig, file);
    if (!first.digestAlgorithm) return { findings: first.findings, verified: false };
    const extraCertificates: Cert[] = (c.extra ?? []).flatMap((f) => parseCertificates(pki.read(f)));
    return verifyDetachedCms({
      cms: sig,
      digests: { [first.digestAlgorithm]: await streamedDigest(pki.path(c.content), first.digestAlgorithm) },
      extraCertificates,
      trust: c.trust === null ? undefined : parseTrustStore(pki.read(c.trust ?? 'trust.pem').toString()),
      file,
    });
  }

  function errorRules(r: { findings: { rule: string; severity: string }[] }): string[] {
    return [...new Set(r.findings.filter((f) => f.severity === 'error').map((f) => f.rule))].sort();
  }

  it('ends each case with exactly its rule ids, each finding naming the file', async function () {
    const wrong: string[] = [];
    for (const c of cases) {
      const r = await run(c, c.sig());
      const got = errorRules(r);
      if (JSON.stringify(got) !== JSON.stringify([...c.errors].sort())) {
        wrong.push(`${c.name}: expected [${c.errors}] got [${got}] — ${r.findings.map((f) => f.message).join(' | ')}`);
      }
      assert.equal(r.verified, c.errors.length === 0, c.name);
      for (const f of r.findings) assert.equal(f.file, 'Definitions/vnf.mf');
    }
    assert.deepEqual(wrong, []);
  });

  it('names the certificate subject in certificate findings and reports the signer and chain', async function () {
    const expired = await run(cases.find((c) => c.name === 'expired signer')!, pki.sign('content.txt', 'expired', ['-certfile', pki.path('inter.pem')]));
    assert.match(expired.findings.find((f) => f.rule === 'CERT-EXPIRED')!.message, /CN=Vendor Signer Expired/);
    const ok = await run(cases[0], cases[0].sig()) as CmsVerification;
    assert.equal(ok.signer?.subject, 'CN=Vendor Signer RSA');
    assert.deepEqual(ok.chain, ['CN=Vendor Signer RSA', 'CN=Depot Test Intermediate', 'CN=Depot Test Root']);
    assert.equal(ok.digestAlgorithm, 'sha256');
    const deep = await run(cases.find((c) => c.name.includes('pathlen'))!, cases.find((c) => c.name.includes('pathlen'))!.sig());
    assert.match(deep.findings.find((f) => f.rule === 'CERT-PATHLEN')!.message, /CN=Depot Test Intermediate/);
  });

  it('without a trust store checks the signature math and warns that nothing was verified', async function () {
    const c: Case = { ...cases[0], trust: null };
    const r = await run(c, c.sig());
    assert.deepEqual(errorRules(r), []);
    assert.equal(r.verified, false);
    assert.deepEqual(r.findings.map((f) => [f.rule, f.severity]), [['SIG-NOT-VERIFIED', 'warning']]);
    const changed = await run({ ...cases.find((x) => x.name === 'CMS over other content')!, trust: null }, pki.sign('other.txt', 'leaf'));
    assert.deepEqual(errorRules(changed), ['SIG-DIGEST-MISMATCH']);
  });

  it('reads certificate files as PEM bundles or DER, and reports an unreadable one', function () {
    const der = pki.openssl('x509', '-in', 'leaf.pem', '-outform', 'DER');
    assert.equal(readCertificateFile(der, 'Files/a.cert').certs[0].subject, 'CN=Vendor Signer RSA');
    assert.equal(readCertificateFile(Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]), 'a.cert').certs.length, 2);
    for (const bad of [Buffer.from('not a certificate'), Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')]) {
      const r = readCertificateFile(bad, 'Files/a.cert');
      assert.deepEqual(r.findings.map((f) => [f.rule, f.file]), [['CERT-UNREADABLE', 'Files/a.cert']]);
    }
  });

  it('never throws on a mutated CMS: every byte flip ends in findings', function () {
    const der = pki.sign('content.txt', 'leaf', ['-certfile', pki.path('inter.pem'), '-outform', 'DER', '-keyopt', 'rsa_padding_mode:pss']);
    const content = pki.read('content.txt');
    const digests = Object.fromEntries((['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const).map((a) => [a, createHash(a).update(content).digest()]));
    const trust = parseTrustStore(pki.read('trust.pem').toString());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const cms = Buffer.from(der);
        for (const [at, value] of flips) cms[at] = value;
        const r = verifyDetachedCms({ cms, digests, trust, file: 'x.cms' });
        if (!cms.equals(der)) assert.ok(r.findings.length > 0 || r.verified);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an empty or unreadable trust store', function () {
    assert.throws(() => parseTrustStore(''), /trust store/);
    assert.throws(() => parseTrustStore('-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n'), /trust store/);
    assert.equal(parseTrustStore(Buffer.concat([pki.read('root.pem'), pki.read('inter.pem')]).toString()).certs.length, 2);
  });

  it('agrees with pkijs SignedData.verify (whole content in memory) except where pkijs has known gaps', async function () {
    // pkijs accepts these (no pathLenConstraint, ignores our bytes when eContent is present, does not
    // refuse an unknown critical extension on the signer) or refuses a pinned CA:FALSE signer; our own
    // checks exist because of exactly these.
    const pkijsGaps = new Set([
      'signer with an unknown critical extension',
      'a CA below the pathlen:0 intermediate signs the leaf',
      'attached CMS embedding other content',
      'self-signed signer pinned in the trust store',
    ]);
    const disagreements: string[] = [];
    for (const c of cases) {
      const sig = c.sig();
      let theirs = false;
      try {
        const der = sig[0] === 0x30 ? sig : Buffer.from(sig.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
        const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(new Uint8Array(der)).content });
        const extras = (c.extra ?? []).flatMap((f) => parseCertificates(pki.read(f))).map((x) => x.pki);
        sd.certificates = [...(sd.certificates ?? []), ...extras];
        const trustedCerts = parseTrustStore(pki.read(c.trust ?? 'trust.pem').toString()).certs.map((x) => x.pki);
        const content = pki.read(c.content);
        const r = await sd.verify({ signer: 0, data: Uint8Array.from(content).buffer, checkChain: true, trustedCerts, extendedMode: true });
        theirs = r.signatureVerified === true && r.signerCertificateVerified === true;
      } catch {
        theirs = false;
      }
      const r = await run(c, sig);
      const ours = errorRules(r).filter((rule) => !POLICY_RULES.has(rule)).length === 0;
      if (ours !== theirs && !pkijsGaps.has(c.name)) disagreements.push(`${c.name}: pkijs ${theirs ? 'accepts' : 'refuses'}, we ${ours ? 'accept' : 'refuse'}`);
      if (pkijsGaps.has(c.name)) assert.notEqual(ours, theirs, `${c.name}: pkijs no longer differs here`);
    }
    assert.deepEqual(disagreements, []);
  });

  it('agrees with `openssl cms -verify -purpose any` on every case (modulo the key-usage and algorithm policy)', async function () {
    const disagreements: string[] = [];
    for (const c of cases) {
      const sig = c.sig();
      const der = sig[0] === 0x30;
      const sigFile = pki.write('oracle.sig', sig);
      // openssl 3.0 takes intermediates only from the CMS or the CAfile (where they are not anchors).
      const caFile = pki.write('oracle-ca.pem', Buffer.concat([pki.read(c.trust ?? 'trust.pem'), ...(c.extra ?? []).map((f) => pki.read(f))]));
      const args = ['cms', '-verify', '-binary', '-purpose', 'any', '-inform', der ? 'DER' : 'PEM', '-in', sigFile,
        '-content', pki.path(c.content), '-CAfile', caFile, '-out', '/dev/null'];
      if (c.extra) args.push('-certfile', pki.path(c.extra[0]));
      const oracle = spawnSync('openssl', args, { cwd: pki.dir }).status === 0;
      const r = await run(c, sig);
      const ours = errorRules(r).filter((rule) => !POLICY_RULES.has(rule)).length === 0;
      if (process.env.SIG_DEBUG) console.log(`      ${c.name}: openssl ${oracle} ours ${errorRules(r)}`);
      if (ours !== oracle) disagreements.push(`${c.name}: openssl ${oracle ? 'accepts' : 'refuses'}, we ${ours ? 'accept' : 'refuse'}`);
      if (c.policyOnly) assert.equal(oracle, true, `${c.name}: openssl should accept what only our policy refuses`);
    }
    assert.deepEqual(disagreements, []);
  });
});
