import { strict as assert } from 'node:assert';
import { parseScalarUnit } from '../../src/tosca/values';

describe('tosca: scalar-unit values', () => {
  it('parses size, time, frequency and bitrate to base units', () => {
    assert.equal(parseScalarUnit('scalar-unit.size', '512 MB'), 512e6);
    assert.equal(parseScalarUnit('scalar-unit.size', '2 GiB'), 2 * 2 ** 30);
    assert.equal(parseScalarUnit('scalar-unit.size', '1.5 kB'), 1500);
    assert.equal(parseScalarUnit('scalar-unit.size', '10 gb'), 10e9, 'size units are case-insensitive');
    assert.equal(parseScalarUnit('scalar-unit.time', '100 ms'), 0.1);
    assert.equal(parseScalarUnit('scalar-unit.time', '2 h'), 7200);
    assert.equal(parseScalarUnit('scalar-unit.frequency', '2.4 GHz'), 2.4e9);
    assert.equal(parseScalarUnit('scalar-unit.bitrate', '10 Mbps'), 10e6);
    assert.equal(parseScalarUnit('scalar-unit.bitrate', '1 MBps'), 8e6, 'bytes per second');
    assert.equal(parseScalarUnit('scalar-unit.bitrate', '1 mbps'), undefined, 'bitrate units are case-sensitive');
  });

  it('rejects values without a number or a known unit', () => {
    for (const v of ['MB', '12', '12 parsecs', '1 GB extra', 12, null]) assert.equal(parseScalarUnit('scalar-unit.size', v), undefined, String(v));
  });
});
