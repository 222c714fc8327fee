import { v5 as uuidv5 } from 'uuid';
import { activityFactId } from './store-activity-writer';

describe('activityFactId', () => {
  it.each([
    [['terminal-1', 'read', '0b9e8a52-4f6c-4c1e-9d3a-2f1b7c6d5e4a', '1']],
    [['terminal-2', 'report', 'b1c2d3e4-0000-4000-8000-000000000001']],
    [['tërminal-ü', 'completed', 'x', '12']],
    // Longer than the reused input buffer: hashed the other way, same id.
    [['t'.repeat(5_000), 'read', 'x', '1']],
  ])('is the UUID v5 of the parts joined by / (%j), as ids were before', (parts) => {
    expect(activityFactId(...parts)).toBe(uuidv5(parts.join('/'), '3d0c8f1e-2b7a-4f5e-9c61-7a2d9e4b5f10'));
  });

  it('gives each fact its own id when called one after another (the input buffer is reused)', () => {
    const ids = ['a', 'bb', 'a'].map((terminal) => activityFactId(terminal, 'read', 'c', '1'));
    expect(ids[0]).toBe(ids[2]);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[1]).toBe(uuidv5('bb/read/c/1', '3d0c8f1e-2b7a-4f5e-9c61-7a2d9e4b5f10'));
  });
});
