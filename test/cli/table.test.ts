import { formatTable } from '../../src/cli/table.js';

describe('formatTable', () => {
  it('aligns every column whatever the width of a value (train candidates with ease-session)', () => {
    const out = formatTable(
      [
        { algorithm: 'popular', ndcg: '0.1234', chosen: '' },
        { algorithm: 'ease-session', ndcg: '0.3456', chosen: '← chosen' },
        { algorithm: 'item-knn', ndcg: '0.2345', chosen: '' },
      ],
      [{ key: 'algorithm' }, { key: 'ndcg', header: 'nDCG@10', align: 'right' }, { key: 'chosen', header: '' }],
    );
    expect(out.split('\n')).toEqual([
      'algorithm     nDCG@10',
      'popular        0.1234',
      'ease-session   0.3456  ← chosen',
      'item-knn       0.2345',
    ]);
  });

  it('prints dates as ISO text, missing values as blanks, and measures wide characters', () => {
    const out = formatTable(
      [
        { name: '日本', at: new Date('2024-01-02T03:04:05Z'), n: null },
        { name: 'ab', at: undefined, n: 12 },
      ],
      [{ key: 'name' }, { key: 'at' }, { key: 'n', align: 'right' }],
    );
    expect(out.split('\n')).toEqual([
      'name  at                         n',
      '日本  2024-01-02T03:04:05.000Z',
      'ab' + ' '.repeat(30) + '12',
    ]);
  });
});
