import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compileFilter,
  matchesFilter,
  parseFilter,
  Sol013Error,
  VNF_PKG_INFO_FILTER_SCHEMA,
} from '../../src/sol013';

const pkgA = {
  id: 'a',
  vnfProvider: 'Acme',
  vnfProductName: 'vRouter',
  onboardingState: 'ONBOARDED',
  operationalState: 'ENABLED',
  vnfmInfo: ['etsivnfm:v2.3.1', 'acme-vnfm'],
  checksum: { algorithm: 'SHA-256', hash: 'aa' },
  softwareImages: [
    { id: 'img1', containerFormat: 'BARE', size: 1000, isEncrypted: false, createdAt: '2024-01-01T10:00:00Z' },
    { id: 'img2', containerFormat: 'DOCKER', size: 5_000_000, isEncrypted: true, createdAt: '2024-03-01T10:00:00+02:00' },
  ],
  userDefinedData: { site: 'paris', tier: 2, prod: true, nested: { k: 'v' } },
  _links: { self: { href: '/vnfpkgm/v2/vnf_packages/a' } },
};
const pkgB = {
  id: 'b',
  vnfProvider: 'Other, Inc.',
  vnfProductName: "O'Brien fw",
  onboardingState: 'CREATED',
  operationalState: 'DISABLED',
  vnfmInfo: ['acme-vnfm'],
  _links: { self: { href: '/vnfpkgm/v2/vnf_packages/b' } },
};
const all = [pkgA, pkgB];

const ids = (filter: string) => {
  const pred = compileFilter(parseFilter(filter), VNF_PKG_INFO_FILTER_SCHEMA);
  return all.filter(pred).map((p) => p.id);
};

describe('sol013 filter evaluation', () => {
  it('eq / neq on strings', () => {
    assert.deepEqual(ids('(eq,vnfProvider,Acme)'), ['a']);
    assert.deepEqual(ids('(neq,vnfProvider,Acme)'), ['b']);
    assert.deepEqual(ids("(eq,vnfProvider,'Other, Inc.')"), ['b']);
    assert.deepEqual(ids("(eq,vnfProductName,'O''Brien fw')"), ['b']);
  });

  it('in / nin', () => {
    assert.deepEqual(ids('(in,onboardingState,CREATED,ONBOARDED)'), ['a', 'b']);
    assert.deepEqual(ids('(nin,onboardingState,CREATED,UPLOADING)'), ['a']);
  });

  it('cont / ncont: at least one / none of the values', () => {
    assert.deepEqual(ids('(cont,vnfProductName,Rout,zzz)'), ['a']);
    assert.deepEqual(ids('(ncont,vnfProductName,Rout,zzz)'), ['b']);
    assert.deepEqual(ids('(ncont,vnfProductName,Rout,fw)'), []);
  });

  it('ANDs terms', () => {
    assert.deepEqual(ids('(eq,onboardingState,ONBOARDED);(eq,vnfProvider,Acme)'), ['a']);
    assert.deepEqual(ids('(eq,onboardingState,ONBOARDED);(eq,vnfProvider,Nope)'), []);
  });

  it('arrays: any element for positive operators, no element for negative ones', () => {
    assert.deepEqual(ids('(eq,softwareImages/containerFormat,DOCKER)'), ['a']);
    assert.deepEqual(ids('(neq,softwareImages/containerFormat,DOCKER)'), ['b']);
    assert.deepEqual(ids('(eq,vnfmInfo,acme-vnfm)'), ['a', 'b']);
    assert.deepEqual(ids('(neq,vnfmInfo,etsivnfm:v2.3.1)'), ['b']);
    assert.deepEqual(ids('(cont,vnfmInfo,etsi)'), ['a']);
  });

  it('numbers compare numerically, not lexically', () => {
    assert.deepEqual(ids('(gt,softwareImages/size,999)'), ['a']);
    assert.deepEqual(ids('(gt,softwareImages/size,1000000)'), ['a']);
    assert.deepEqual(ids('(gt,softwareImages/size,9000000)'), []);
    assert.deepEqual(ids('(lte,softwareImages/size,1000)'), ['a']);
    assert.deepEqual(ids('(lt,softwareImages/size,1000)'), []);
    assert.deepEqual(ids('(gte,softwareImages/size,1e3)'), ['a']);
    assert.deepEqual(ids('(eq,softwareImages/size,1000.0)'), ['a']);
  });

  it('strings order lexically, date-times as instants', () => {
    assert.deepEqual(ids('(gt,vnfProvider,B)'), ['b']);
    assert.deepEqual(ids('(lt,vnfProvider,B)'), ['a']);
    // 2024-03-01T10:00:00+02:00 is 08:00Z; lexical comparison would say it is later than 09:00Z
    assert.deepEqual(ids('(gt,softwareImages/createdAt,2024-03-01T09:00:00Z)'), []);
    assert.deepEqual(ids('(gt,softwareImages/createdAt,2024-03-01T07:59:59Z)'), ['a']);
  });

  it('booleans', () => {
    assert.deepEqual(ids('(eq,softwareImages/isEncrypted,true)'), ['a']);
    assert.deepEqual(ids('(neq,softwareImages/isEncrypted,false)'), ['b']);
  });

  it('KeyValuePairs entries of any type', () => {
    assert.deepEqual(ids('(eq,userDefinedData/site,paris)'), ['a']);
    assert.deepEqual(ids('(gt,userDefinedData/tier,1)'), ['a']);
    assert.deepEqual(ids('(eq,userDefinedData/prod,true)'), ['a']);
    assert.deepEqual(ids('(eq,userDefinedData/nested/k,v)'), ['a']);
    assert.deepEqual(ids('(eq,userDefinedData/missing,v)'), []);
    assert.deepEqual(ids('(neq,userDefinedData/site,paris)'), ['b']);
  });

  it('nested objects', () => {
    assert.deepEqual(ids('(eq,checksum/algorithm,SHA-256)'), ['a']);
    assert.deepEqual(ids('(cont,_links/self/href,/b)'), ['b']);
  });

  it('rejects unknown attributes and misapplied operators up front', () => {
    const bad: [string, string][] = [
      ['(eq,nfvId,x)', "filter: unknown attribute 'nfvId' in expression at position 0"],
      ['(eq,id,a);(eq,softwareImages/nope,x)', "filter: unknown attribute 'softwareImages/nope' in expression at position 10"],
      ['(eq,vnfProvider/x,a)', "filter: unknown attribute 'vnfProvider/x' in expression at position 0"],
      ['(eq,checksum,x)', "filter: attribute 'checksum' is structured and cannot be compared in expression at position 0"],
      ['(cont,softwareImages/size,1)', "filter: operator 'cont' is not applicable to number attribute 'softwareImages/size' in expression at position 0"],
      ['(gt,softwareImages/isEncrypted,true)', "filter: operator 'gt' is not applicable to boolean attribute 'softwareImages/isEncrypted' in expression at position 0"],
      ['(gt,onboardingState,A)', "filter: operator 'gt' is not applicable to enum attribute 'onboardingState' in expression at position 0"],
      ['(gt,softwareImages/size,big)', "filter: value 'big' of attribute 'softwareImages/size' is not a number in expression at position 0"],
      ['(eq,softwareImages/isEncrypted,yes)', "filter: value 'yes' of attribute 'softwareImages/isEncrypted' is not true or false in expression at position 0"],
      ['(gt,softwareImages/createdAt,yesterday)', "filter: value 'yesterday' of attribute 'softwareImages/createdAt' is not an RFC 3339 date-time in expression at position 0"],
    ];
    for (const [filter, detail] of bad) {
      assert.throws(() => ids(filter), (e: unknown) => e instanceof Sol013Error && e.detail === detail, filter);
    }
  });

  it('knownPaths alone is enough to reject unknown attributes', () => {
    const knownPaths = (p: readonly string[]) => p[0] === 'id';
    assert.equal(matchesFilter({ id: 'x' }, parseFilter('(eq,id,x)'), { knownPaths }), true);
    assert.throws(() => matchesFilter({ id: 'x' }, parseFilter('(eq,other,x)'), { knownPaths }), Sol013Error);
  });

  it('without a schema, type mismatches simply do not match', () => {
    const obj = { n: 5, b: true, o: { x: 1 }, nul: null };
    const m = (f: string) => matchesFilter(obj, parseFilter(f));
    assert.equal(m('(cont,n,5)'), false);
    assert.equal(m('(gt,n,abc)'), false);
    assert.equal(m('(gt,b,a)'), false);
    assert.equal(m('(eq,o,x)'), false);
    assert.equal(m('(eq,nul,null)'), false);
    assert.equal(m('(neq,nul,null)'), true);
    assert.equal(m('(eq,n,5)'), true);
    assert.equal(m('(eq,n/x,5)'), false);
  });

  it('does not follow inherited properties', () => {
    assert.equal(matchesFilter({}, parseFilter('(eq,constructor/name,Object)')), false);
    assert.equal(matchesFilter({}, parseFilter('(eq,__proto__,x)')), false);
  });

  it('property: evaluation without a schema never throws, and neq is the negation of eq', () => {
    const seg = fc.constantFrom('a', 'b', 'c');
    const term = fc.record({
      op: fc.constantFrom('eq', 'gt', 'lte', 'cont', 'in'),
      path: fc.array(seg, { minLength: 1, maxLength: 3 }),
      values: fc.array(fc.oneof(fc.string(), fc.constantFrom('1', 'true', '2024-01-01T00:00:00Z')), { minLength: 1, maxLength: 1 }),
    });
    const json = fc.dictionary(seg, fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(json, term, (obj, t) => {
        const ast = [{ ...t, position: 0 }] as Parameters<typeof matchesFilter>[1];
        const positive = matchesFilter(obj, ast);
        if (t.op === 'eq') assert.equal(matchesFilter(obj, [{ ...ast[0], op: 'neq' }]), !positive);
        if (t.op === 'cont') assert.equal(matchesFilter(obj, [{ ...ast[0], op: 'ncont' }]), !positive);
      }),
      { numRuns: 500 },
    );
  });

  it('is fast enough for in-memory filtering', () => {
    const pred = compileFilter(
      parseFilter('(eq,onboardingState,ONBOARDED);(gt,softwareImages/size,999);(ncont,vnfProductName,x)'),
      VNF_PKG_INFO_FILTER_SCHEMA,
    );
    const many = Array.from({ length: 20000 }, (_, i) => ({ ...pkgA, id: String(i) }));
    const t0 = process.hrtime.bigint();
    assert.equal(many.filter(pred).length, 20000);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 500);
  });
});
