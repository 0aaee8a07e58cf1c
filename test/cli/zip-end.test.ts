import assert from 'node:assert/strict';
import { zipEndRecords } from '../../src/cli/zip-writer';

describe('zip writer: the end records (shared by depot pack and the onboarding bench)', () => {
  it('a small archive ends with the 22-byte end of central directory record alone', () => {
    const b = zipEndRecords(3, 1000, 200);
    assert.equal(b.length, 22);
    assert.deepEqual([b.readUInt32LE(0), b.readUInt16LE(10), b.readUInt32LE(12), b.readUInt32LE(16)], [0x06054b50, 3, 200, 1000]);
  });

  it('an offset past 4 GiB gets the ZIP64 end record and locator, and the 32-bit fields saturate', () => {
    const cdOffset = 5 * 2 ** 30;
    const b = zipEndRecords(3, cdOffset, 200);
    assert.equal(b.length, 56 + 20 + 22);
    assert.equal(b.readUInt32LE(0), 0x06064b50);
    assert.equal(Number(b.readBigUInt64LE(48)), cdOffset);
    assert.equal(b.readUInt32LE(56), 0x07064b50);
    assert.equal(Number(b.readBigUInt64LE(64)), cdOffset + 200, 'the locator points at the ZIP64 end record, right after the central directory');
    assert.equal(b.readUInt32LE(76), 0x06054b50);
    assert.equal(b.readUInt32LE(76 + 16), 0xffffffff);
  });

  it('65535 entries or more need ZIP64 too', () => {
    assert.equal(zipEndRecords(0xffff, 0, 0).length, 98);
    assert.equal(zipEndRecords(0xfffe, 0, 0).length, 22);
  });
});
