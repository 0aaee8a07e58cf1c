import assert from 'node:assert/strict';
import { decodeNextpageMarker, encodeNextpageMarker, linkHeader, Sol013Error } from '../../src/sol013';

const secret = 'test-secret';

describe('sol013 paging', () => {
  it('round-trips a JSON cursor through a URL-safe marker', () => {
    const cursor = { after: '2f1c…/id', filterHash: 'abc', n: 3 };
    const marker = encodeNextpageMarker(cursor, secret);
    assert.match(marker, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeNextpageMarker(marker, secret), cursor);
  });

  it('rejects tampered, foreign, malformed and expired markers with Sol013Error', () => {
    const marker = encodeNextpageMarker({ after: 'x' }, secret, 1000);
    const [body, mac] = marker.split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, t: 1000, c: { after: 'y' } })).toString('base64url');
    const cases: [string, string, string?][] = [
      [`${forged}.${mac}`, 'nextpage_opaque_marker: marker is not valid for this server'],
      [`${body}.${mac.slice(0, -2)}`, 'nextpage_opaque_marker: marker is not valid for this server'],
      [marker, 'nextpage_opaque_marker: marker is not valid for this server', 'other-secret'],
      [body, 'nextpage_opaque_marker: malformed marker'],
      ['', 'nextpage_opaque_marker: malformed marker'],
      ['a.b.c', 'nextpage_opaque_marker: malformed marker'],
      ['%%%.abc', 'nextpage_opaque_marker: malformed marker'],
    ];
    for (const [m, detail, key] of cases) {
      assert.throws(() => decodeNextpageMarker(m, key ?? secret), (e: unknown) => e instanceof Sol013Error && e.detail === detail, m);
    }
    assert.throws(
      () => decodeNextpageMarker(marker, secret, { maxAgeMs: 60_000, now: 1000 + 60_001 }),
      (e: unknown) => e instanceof Sol013Error && e.detail === 'nextpage_opaque_marker: marker has expired',
    );
    assert.deepEqual(decodeNextpageMarker(marker, secret, { maxAgeMs: 60_000, now: 1000 + 60_000 }), { after: 'x' });
  });

  it('renders the Link header value and keeps the other query parameters verbatim', () => {
    assert.equal(
      linkHeader('https://nfvo.example/vnfpkgm/v2/vnf_packages', 'abc.def'),
      '<https://nfvo.example/vnfpkgm/v2/vnf_packages?nextpage_opaque_marker=abc.def>; rel="next"',
    );
    assert.equal(
      linkHeader(
        'https://nfvo.example/vnfpkgm/v2/vnf_packages?filter=(eq,vnfProductName,%27a%20b%27)&nextpage_opaque_marker=old&all_fields#frag',
        'new',
      ),
      '<https://nfvo.example/vnfpkgm/v2/vnf_packages?filter=(eq,vnfProductName,%27a%20b%27)&all_fields&nextpage_opaque_marker=new>; rel="next"',
    );
  });

  it('keeps a relative request URI relative (no host is invented)', () => {
    assert.equal(
      linkHeader('/vnfpkgm/v2/vnf_packages?filter=(eq,a,%27b%20c%27)&nextpage_opaque_marker=old', 'new'),
      '</vnfpkgm/v2/vnf_packages?filter=(eq,a,%27b%20c%27)&nextpage_opaque_marker=new>; rel="next"',
    );
  });

  it('never lets a URL break out of the <...> of the header', () => {
    const v = linkHeader('https://nfvo.example/x?a=<b>"c d', 'm');
    assert.equal(v.indexOf('>'), v.length - 13);
    assert.ok(!v.slice(1, -13).includes('"'));
  });
});
