import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { parseTrustStore, readCmsDigestAlgorithm, splitSignedManifest, verifyDetachedCms, type TrustStore } from '../../src/sol004';
import { basePkiOrSkip, type TestPki } from './pki';

describe('sol004 option 1: the signed manifest', function () {
  let pki: TestPki;
  let trust: TrustStore;

  before(function () {
    pki = basePkiOrSkip(this);
    trust = parseTrustStore(pki.read('root.pem').toString());
  });

  after(() => pki?.dispose());

  /** The manifest as vnfsdk-pkgtools writes it: the text, signed as a file, then the PEM appended. */
  function signedManifest(body: string): Buffer {
    pki.write('body.mf', body);
    return Buffer.concat([Buffer.from(body), pki.sign('body.mf', 'leaf', ['-certfile', pki.path('inter.pem')])]);
  }

  function verify(mf: Buffer) {
    const split = splitSignedManifest(mf);
    assert.ok(split, 'a CMS block is found');
    const alg = readCmsDigestAlgorithm(split.cms, 'vnf.mf').digestAlgorithm!;
    return verifyDetachedCms({ cms: split.cms, digests: { [alg]: createHash(alg).update(split.signed).digest() }, trust, file: 'vnf.mf' });
  }

  const body = 'metadata:\n  vnf_provider_id: Acme\n\nSource: Definitions/vnf.yaml\nAlgorithm: SHA-256\nHash: 00\n\n';

  it('verifies the bytes before the BEGIN line, LF and CRLF alike', function () {
    for (const text of [body, body.replace(/\n/g, '\r\n')]) {
      const r = verify(signedManifest(text));
      assert.deepEqual(r.findings, []);
      assert.equal(r.verified, true);
    }
  });

  it('reports SIG-DIGEST-MISMATCH when the manifest changed after signing', function () {
    const mf = signedManifest(body);
    const changed = Buffer.from(mf.toString().replace('Acme', 'Evil'));
    assert.deepEqual(verify(changed).findings.map((f) => f.rule), ['SIG-DIGEST-MISMATCH']);
  });

  it('finds no block in an unsigned manifest, nor in a line that only mentions it', function () {
    assert.equal(splitSignedManifest(Buffer.from(body)), undefined);
    assert.equal(splitSignedManifest(Buffer.from(`${body}# -----BEGIN CMS----- is what signs it\n`)), undefined);
  });
});
