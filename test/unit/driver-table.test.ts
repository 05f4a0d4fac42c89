// The README's driver table: one set of rows per kernel series, from its newest results.
import { expect } from 'chai';
import { latestPerSeries, renderTable, type Results } from '../../test/drivers/table';
import type { ResultRow } from '../../test/drivers/roundtrip.test';

function results(kernel: string, driver: string): Results {
  const row = { node: '/dev/dri/card0', driver, kind: 'dumb', format: 'XRGB8888', mode: 'auto', passed: true, access: 'direct', serverMapping: 'dumb-map' } as unknown as ResultRow;
  return { kernel, width: 64, height: 64, rows: [row] };
}

describe('driver table', () => {
  it('takes the newest patch level of each kernel series, newest series first: no row twice', () => {
    const all = [results('6.1.0-56-amd64', 'old'), results('6.12.117+deb12-amd64', 'a'), results('6.1.0-57-amd64', 'new'), results('6.9.1', 'b'), results('6.1.0-9-amd64', 'older')];
    expect(latestPerSeries(all).map((r) => r.kernel)).to.deep.equal(['6.12.117+deb12-amd64', '6.9.1', '6.1.0-57-amd64']);
    const table = renderTable(latestPerSeries(all)).split('\n').slice(2);
    expect(table).to.have.length(3);
    expect(table.filter((l) => l.startsWith('| 6.1 |'))).to.have.length(1);
    expect(table.find((l) => l.startsWith('| 6.1 |'))).to.include('| new |');
  });
});
