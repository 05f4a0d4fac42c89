import { expect } from 'chai';
import { computeLayout, formats, fourccCode, fourccToString, lookupFormat, resolveFormat, MAX_BUFFER_BYTES, modifierToString, parseModifier, MODIFIER_INVALID } from '../../lib';

describe('format table', () => {
  it('knows the DRM fourccs of the required formats', () => {
    // Values from include/uapi/drm/drm_fourcc.h.
    expect(resolveFormat('ARGB8888').fourcc).to.equal(0x34325241);
    expect(resolveFormat('XRGB8888').fourcc).to.equal(0x34325258);
    expect(resolveFormat('ABGR8888').fourcc).to.equal(0x34324241);
    expect(resolveFormat('XBGR8888').fourcc).to.equal(0x34324258);
    expect(resolveFormat('RGB565').fourcc).to.equal(0x36314752);
  });

  it('knows bytes per pixel and alpha', () => {
    expect(resolveFormat('ARGB8888')).to.include({ bpp: 4, hasAlpha: true, opaque: 'XRGB8888' });
    expect(resolveFormat('XBGR8888')).to.include({ bpp: 4, hasAlpha: false });
    expect(resolveFormat('RGB565')).to.include({ bpp: 2, hasAlpha: false });
    expect(resolveFormat('RGB888').bpp).to.equal(3);
  });

  it('resolves by name (any case) or fourcc, and round-trips', () => {
    for (const f of formats) {
      expect(resolveFormat(f.fourcc)).to.equal(f);
      expect(resolveFormat(f.name)).to.equal(f);
      expect(lookupFormat(f.name.toLowerCase())).to.equal(f);
      expect(fourccCode(fourccToString(f.fourcc))).to.equal(f.fourcc);
    }
  });

  it('rejects unknown formats with ERR_BUFSHARE_UNSUPPORTED_FORMAT listing the supported ones', () => {
    expect(() => resolveFormat(fourccCode('NV12'))).to.throw(/NV12.*supported: ARGB8888/).with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(() => resolveFormat('YUYV' as never)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
  });

  it('writes modifiers as 16 hex digits and parses them back', () => {
    expect(modifierToString(0n)).to.equal('0x0000000000000000');
    expect(parseModifier(modifierToString(MODIFIER_INVALID))).to.equal(MODIFIER_INVALID);
    expect(parseModifier('0x')).to.equal(undefined);
    expect(parseModifier('12')).to.equal(undefined);
    expect(parseModifier('0x00000000000000001')).to.equal(undefined);
  });
});

describe('layout', () => {
  const xrgb = resolveFormat('XRGB8888');
  it('aligns the stride to 64 bytes by default, or to what is asked', () => {
    expect(computeLayout(100, 10, xrgb)).to.deep.equal({ stride: 448, size: 4480 });
    expect(computeLayout(100, 10, xrgb, 256).stride).to.equal(512);
    expect(computeLayout(16, 1, xrgb, 1).stride).to.equal(64);
    expect(computeLayout(3, 3, resolveFormat('RGB565'), 4)).to.deep.equal({ stride: 8, size: 24 });
  });

  it('rounds the size up to the size alignment', () => {
    expect(computeLayout(10, 10, xrgb, 64, 4096).size).to.equal(4096);
  });

  it('rejects 0, negative, fractional and oversized dimensions', () => {
    for (const [w, h] of [[0, 1], [1, 0], [-5, 5], [1.5, 2], [16385, 1], [1, 16385], [NaN, 1]]) {
      expect(() => computeLayout(w!, h!, xrgb)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_DIMENSIONS');
    }
    expect(computeLayout(16384, 1, xrgb).stride).to.equal(65536);
  });

  it('checks the size for overflow past the limit', () => {
    expect(computeLayout(16384, 16384, xrgb).size).to.equal(MAX_BUFFER_BYTES);
    // 8 bytes per pixel at the largest dimensions: 2 GiB.
    expect(() => computeLayout(16384, 16384, resolveFormat('XBGR16161616F'))).to.throw(/over the/).with.property('code', 'ERR_BUFSHARE_SIZE_OVERFLOW');
    expect(() => computeLayout(16384, 8193, resolveFormat('ABGR16161616F'))).to.throw().with.property('code', 'ERR_BUFSHARE_SIZE_OVERFLOW');
  });

  it('rejects alignments that are not powers of two', () => {
    expect(() => computeLayout(10, 10, xrgb, 48)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(() => computeLayout(10, 10, xrgb, 0)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
  });
});
