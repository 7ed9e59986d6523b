/** RGBA images: size checks and the u32 pixel view used to upload them. */
import { describe, expect, it } from 'vitest';
import { checkRgba, rgbaPixels } from '../../src/image.ts';

describe('rgbaPixels', () => {
  it('views aligned bytes and copies unaligned ones, one u32 per pixel', () => {
    const bytes = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const aligned = { width: 2, height: 1, data: bytes.subarray(0, 8) };
    const unaligned = { width: 2, height: 1, data: bytes.subarray(1, 9) };
    const a = rgbaPixels(aligned);
    expect(a.buffer).toBe(bytes.buffer);
    expect([...new Uint8Array(a.buffer, a.byteOffset, 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const u = rgbaPixels(unaligned);
    expect(u.length).toBe(2);
    expect([...new Uint8Array(u.buffer, u.byteOffset, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('checkRgba names the size and byte count that disagree', () => {
    expect(() => checkRgba({ width: 2, height: 2, data: new Uint8Array(15) })).toThrow(/2x2 RGBA needs 16 bytes, got 15/);
    expect(() => checkRgba({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(/0x2/);
  });
});
