/**
 * A small pass of the churn soak (npm run soak runs 10,000 surfaces and 1,000
 * SIGKILLed clients): the server's fds and mappings are back at the baseline.
 */
import { expect } from 'chai';
import { soak } from '../soak/soak';

describe('leaks under churn (small soak)', function () {
  this.timeout(60000);

  it('500 surface create/destroy cycles and 8 SIGKILLed clients leave no fd, mapping or RSS growth behind', async () => {
    // Under test:asan, ASan's quarantine keeps freed memory (up to 256 MiB) out of
    // reuse, so RSS says nothing about leaks there; LeakSanitizer checks them instead.
    const underAsan = (process.env.LD_PRELOAD ?? '').includes('libasan');
    const r = await soak(500, 8, 4, underAsan ? Infinity : 16);
    expect(r.failures).to.deep.equal([]);
    for (const p of r.phases) {
      expect(p.leaked, p.name).to.deep.equal([]);
      expect(p.fdsAfter, p.name).to.equal(p.fdsBefore);
      expect(p.liveMappingsAfter, p.name).to.equal(p.liveMappingsBefore);
    }
  });
});
