import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFilter, Sol013Error } from '../../src/sol013';

const bare = (s: string) => parseFilter(s).map(({ op, path, values }) => ({ op, path, values }));

function rejects(input: string, detail: string | RegExp) {
  assert.throws(
    () => parseFilter(input),
    (e: unknown) => {
      assert.ok(e instanceof Sol013Error, `expected Sol013Error, got ${String(e)}`);
      if (typeof detail === 'string') assert.equal(e.detail, detail);
      else assert.match(e.detail, detail);
      return true;
    },
  );
}

describe('sol013 filter grammar', () => {
  it('parses every single-value operator', () => {
    for (const op of ['eq', 'neq', 'gt', 'lt', 'gte', 'lte']) {
      assert.deepEqual(bare(`(${op},vnfProvider,Acme)`), [{ op, path: ['vnfProvider'], values: ['Acme'] }]);
    }
  });

  it('parses every multi-value operator with one and several values', () => {
    for (const op of ['in', 'nin', 'cont', 'ncont']) {
      assert.deepEqual(bare(`(${op},operationalState,ENABLED)`), [{ op, path: ['operationalState'], values: ['ENABLED'] }]);
      assert.deepEqual(bare(`(${op},operationalState,ENABLED,DISABLED)`), [
        { op, path: ['operationalState'], values: ['ENABLED', 'DISABLED'] },
      ]);
    }
  });

  it('splits nested attribute names at "/"', () => {
    assert.deepEqual(bare('(eq,softwareImages/containerFormat,BARE)')[0].path, ['softwareImages', 'containerFormat']);
    assert.deepEqual(bare('(eq,_links/self/href,x)')[0].path, ['_links', 'self', 'href']);
    assert.deepEqual(bare('(eq,userDefinedData/key,v)')[0].path, ['userDefinedData', 'key']);
  });

  it('ANDs terms separated by ";" and records their positions', () => {
    const ast = parseFilter('(eq,onboardingState,ONBOARDED);(eq,vnfProvider,Acme)');
    assert.equal(ast.length, 2);
    assert.deepEqual(ast.map((t) => t.position), [0, 31]);
  });

  it('unquotes single-quoted values, with "" doubling and , ) ; ( inside', () => {
    assert.deepEqual(bare("(cont,vnfProductName,'a,b')")[0].values, ['a,b']);
    assert.deepEqual(bare("(eq,vnfProductName,'x)y')")[0].values, ['x)y']);
    assert.deepEqual(bare("(eq,vnfProductName,'O''Brien')")[0].values, ["O'Brien"]);
    assert.deepEqual(bare("(eq,vnfProductName,'''')")[0].values, ["'"]);
    assert.deepEqual(bare("(eq,vnfProductName,'')")[0].values, ['']);
    assert.deepEqual(bare("(in,vnfProductName,'a,b',c,'d)')")[0].values, ['a,b', 'c', 'd)']);
    assert.deepEqual(bare("(eq,vnfProductName,'plain')")[0].values, ['plain']);
  });

  it('keeps unquoted characters that need no escaping (";" "(" spaces)', () => {
    assert.deepEqual(bare('(eq,vnfProductName,a;b)')[0].values, ['a;b']);
    assert.deepEqual(bare('(eq,vnfProductName,f(x)')[0].values, ['f(x']);
    assert.deepEqual(bare('(eq,vnfProductName,two words)')[0].values, ['two words']);
  });

  describe('errors name position and problem', () => {
    const cases: [string, string][] = [
      ['', 'filter: empty filter expression'],
      ['(eqq,a,b)', "filter: unknown operator 'eqq' at position 1"],
      ['(,a,b)', 'filter: missing operator at position 1'],
      ['eq,a,b', "filter: expected '(' at position 0, found 'e'"],
      ['(eq,a,b);', "filter: expected '(' at position 9 (end of input)"],
      ['(eq,a,b)(eq,c,d)', "filter: expected ';' between expressions at position 8, found '('"],
      ['(eq,a,b))', "filter: unbalanced parenthesis: unexpected ')' at position 8"],
      ['(eq,onboardingState', "filter: unbalanced parenthesis: '(' at position 0 is not closed"],
      ['(eq,a,b);(eq,vnfProvider,Acme', "filter: unbalanced parenthesis: '(' at position 9 is not closed"],
      ['(eq', "filter: unbalanced parenthesis: '(' at position 0 is not closed"],
      ['(eq)', "filter: missing attribute name after operator 'eq' at position 3"],
      ['(eq,a)', "filter: missing value for operator 'eq' at position 5"],
      ['(eq,,b)', 'filter: empty attribute name segment at position 4'],
      ['(eq,a//b,c)', 'filter: empty attribute name segment at position 6'],
      ['(eq,a/,c)', 'filter: empty attribute name segment at position 6'],
      ['(eq,a,)', 'filter: empty value at position 6'],
      ['(in,a,x,)', 'filter: empty value at position 8'],
      ['(eq,a,b,c)', "filter: operator 'eq' takes exactly one value, got 2 at position 6"],
      ['(gt,a,1,2)', "filter: operator 'gt' takes exactly one value, got 2 at position 6"],
      ["(eq,a,O'Brien)", "filter: unescaped quote in value at position 7; values containing ' must be enclosed in single quotes"],
      ["(eq,a,'abc)", "filter: unterminated quoted value starting at position 6"],
      ["(eq,a,'a'b)", "filter: unexpected character 'b' after quoted value at position 9"],
      ["(eq,a'b,c)", "filter: unexpected character ''' in attribute name at position 5"],
      ['(e(q,a,b)', "filter: unexpected character '(' in operator at position 2"],
    ];
    for (const [input, detail] of cases) {
      it(JSON.stringify(input), () => rejects(input, detail));
    }
  });

  it('property: arbitrary strings only ever raise Sol013Error', () => {
    const alphabet = fc.constantFrom(...'(),;\'/eqnltgcoix a1'.split(''));
    const arb = fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(arb, (s) => {
        try {
          parseFilter(s);
        } catch (e) {
          if (!(e instanceof Sol013Error)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: quoting any value round-trips', () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        const quoted = `'${v.replace(/'/g, "''")}'`;
        assert.deepEqual(parseFilter(`(eq,a,${quoted})`)[0].values, [v]);
      }),
    );
  });
});
