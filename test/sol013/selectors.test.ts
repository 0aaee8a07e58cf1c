import assert from 'node:assert/strict';
import {
  applySelectors,
  parseSelectors,
  Sol013Error,
  VNF_PKG_INFO_DEFAULT_EXCLUDED,
  VNF_PKG_INFO_FILTER_SCHEMA,
  VNF_PKG_INFO_MANDATORY,
} from '../../src/sol013';
import type { SelectorQuery } from '../../src/sol013';

const pkg = Object.freeze({
  id: 'p1',
  vnfProvider: 'Acme',
  onboardingState: 'ONBOARDED',
  compatibleSpecificationVersions: ['2.7.1'],
  vnfmInfo: ['etsivnfm:v2.3.1'],
  checksum: { algorithm: 'SHA-256', hash: 'aa' },
  softwareImages: [{ id: 'i', name: 'n', checksum: { algorithm: 'SHA-256', hash: 'bb' }, userMetadata: { a: 1 } }],
  additionalArtifacts: [{ artifactPath: 'Files/x', checksum: { algorithm: 'SHA-256', hash: 'cc' } }],
  userDefinedData: { site: 'paris' },
  onboardingFailureDetails: { status: 422, detail: 'x' },
  _links: { self: { href: '/s' }, packageContent: { href: '/c' } },
});

const opts = { mandatory: VNF_PKG_INFO_MANDATORY, knownPaths: VNF_PKG_INFO_FILTER_SCHEMA.knownPaths };
const select = (q: SelectorQuery) => applySelectors(pkg, q, VNF_PKG_INFO_DEFAULT_EXCLUDED, opts) as Record<string, unknown>;
const keys = (q: SelectorQuery) => Object.keys(select(q)).sort();

const SIMPLE_AND_MANDATORY = ['_links', 'compatibleSpecificationVersions', 'id', 'onboardingState', 'vnfProvider', 'vnfmInfo'];

describe('sol013 attribute selectors', () => {
  it('VnfPkgInfo default-exclude set is the SOL005 2.x one', () => {
    assert.deepEqual(
      VNF_PKG_INFO_DEFAULT_EXCLUDED.map((p) => p.join('/')),
      ['softwareImages', 'additionalArtifacts', 'userDefinedData', 'checksum', 'onboardingFailureDetails'],
    );
  });

  it('no selector behaves as exclude_default', () => {
    assert.deepEqual(keys({}), SIMPLE_AND_MANDATORY);
    assert.deepEqual(keys({ exclude_default: '' }), SIMPLE_AND_MANDATORY);
    assert.deepEqual(keys({ filter: '(eq,id,x)' }), SIMPLE_AND_MANDATORY);
  });

  it('all_fields returns everything', () => {
    assert.deepEqual(select({ all_fields: '' }), pkg);
  });

  it('fields keeps simple + mandatory + listed complex attributes only', () => {
    // compatibleSpecificationVersions is an optional array, i.e. complex, so not listed = dropped
    assert.deepEqual(keys({ fields: 'softwareImages,additionalArtifacts' }), [
      '_links',
      'additionalArtifacts',
      'id',
      'onboardingState',
      'softwareImages',
      'vnfProvider',
      'vnfmInfo',
    ]);
  });

  it('fields drops optional complex attributes that are not in the default set', () => {
    assert.ok(!('compatibleSpecificationVersions' in select({ fields: 'checksum' })));
    assert.ok('checksum' in select({ fields: 'checksum' }));
  });

  it('fields with nested paths prunes inside the named parent', () => {
    const r = select({ fields: 'softwareImages/checksum' }) as { softwareImages: Record<string, unknown>[] };
    assert.deepEqual(r.softwareImages, [{ id: 'i', name: 'n', checksum: { algorithm: 'SHA-256', hash: 'bb' } }]);
  });

  it('exclude_fields removes only the listed attributes, also nested ones', () => {
    const r = select({ exclude_fields: 'checksum,softwareImages/userMetadata' }) as Record<string, unknown>;
    assert.ok(!('checksum' in r));
    assert.ok('userDefinedData' in r);
    assert.deepEqual((r.softwareImages as object[])[0], { id: 'i', name: 'n', checksum: { algorithm: 'SHA-256', hash: 'bb' } });
  });

  it('exclude_default&fields keeps the listed members of the default set', () => {
    assert.deepEqual(keys({ exclude_default: '', fields: 'userDefinedData' }), [...SIMPLE_AND_MANDATORY, 'userDefinedData'].sort());
    assert.ok('softwareImages' in select({ exclude_default: '', fields: 'softwareImages/checksum' }));
  });

  it('never modifies the input object', () => {
    select({ exclude_fields: 'softwareImages/userMetadata' });
    select({});
    assert.deepEqual(pkg.softwareImages[0].userMetadata, { a: 1 });
  });

  it('accepts a pre-parsed selector for many objects', () => {
    const sel = parseSelectors({ fields: 'checksum' }, opts);
    assert.ok('checksum' in (applySelectors(pkg, sel, VNF_PKG_INFO_DEFAULT_EXCLUDED, opts) as object));
    // a query parameter that happens to be called "kind" does not impersonate a parsed selector
    assert.deepEqual(keys({ kind: 'all_fields' }), SIMPLE_AND_MANDATORY);
  });

  describe('invalid requests are 400', () => {
    const bad: [SelectorQuery, string][] = [
      [{ all_fields: '', fields: 'a' }, "attribute selectors: the combination 'all_fields' + 'fields' is not allowed"],
      [{ all_fields: '', exclude_default: '' }, "attribute selectors: the combination 'all_fields' + 'exclude_default' is not allowed"],
      [{ all_fields: '', exclude_fields: 'a' }, "attribute selectors: the combination 'all_fields' + 'exclude_fields' is not allowed"],
      [{ fields: 'checksum', exclude_fields: 'userDefinedData' }, "attribute selectors: the combination 'fields' + 'exclude_fields' is not allowed"],
      [{ exclude_fields: 'checksum', exclude_default: '' }, "attribute selectors: the combination 'exclude_fields' + 'exclude_default' is not allowed"],
      [{ fields: '' }, "attribute selectors: 'fields' needs a comma-separated list of attribute names"],
      [{ fields: 'checksum,' }, "attribute selectors: empty attribute name in 'fields' entry 2 ('')"],
      [{ exclude_fields: 'a//b' }, "attribute selectors: empty attribute name in 'exclude_fields' entry 1 ('a//b')"],
      [{ fields: 'nfvId' }, "attribute selectors: unknown attribute 'nfvId' in 'fields'"],
      [{ exclude_fields: '_links' }, "attribute selectors: attribute '_links' is mandatory and cannot be excluded"],
      [{ exclude_fields: '_links/self' }, "attribute selectors: attribute '_links/self' is mandatory and cannot be excluded"],
      [{ fields: ['a', 'b'] }, "attribute selectors: parameter 'fields' given more than once"],
    ];
    for (const [q, detail] of bad) {
      it(JSON.stringify(q), () => {
        assert.throws(() => select(q), (e: unknown) => e instanceof Sol013Error && e.detail === detail);
      });
    }
  });
});
