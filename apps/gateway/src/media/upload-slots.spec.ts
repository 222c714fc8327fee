import { UploadSlots } from './upload-slots';

const never = () => new AbortController().signal;

describe('UploadSlots', () => {
  it('admits up to max, queues the next in arrival order, and refuses beyond the queue', async () => {
    const slots = new UploadSlots(2, 2, 10_000);
    expect(await slots.acquire(never())).toBe(true);
    expect(await slots.acquire(never())).toBe(true);
    const order: string[] = [];
    const third = slots.acquire(never()).then((ok) => order.push(`third ${ok}`));
    const fourth = slots.acquire(never()).then((ok) => order.push(`fourth ${ok}`));
    expect(await slots.acquire(never())).toBe(false);
    expect(slots.busy).toEqual({ active: 2, waiting: 2 });
    slots.release();
    await third;
    expect(order).toEqual(['third true']);
    slots.release();
    await fourth;
    expect(order).toEqual(['third true', 'fourth true']);
    expect(slots.busy).toEqual({ active: 2, waiting: 0 });
  });

  it('lets a newcomer not overtake those waiting', async () => {
    const slots = new UploadSlots(1, 5, 10_000);
    await slots.acquire(never());
    const waiting = slots.acquire(never());
    slots.release();
    expect(await waiting).toBe(true);
    // The slot went to the one waiting: a newcomer now waits too.
    const later = slots.acquire(never());
    expect(slots.busy).toEqual({ active: 1, waiting: 1 });
    slots.release();
    expect(await later).toBe(true);
  });

  it('gives up a place when the client goes away or the wait runs out', async () => {
    jest.useFakeTimers();
    try {
      const slots = new UploadSlots(1, 5, 1_000);
      await slots.acquire(never());
      const client = new AbortController();
      const leaving = slots.acquire(client.signal);
      const patient = slots.acquire(never());
      client.abort();
      expect(await leaving).toBe(false);
      expect(slots.busy.waiting).toBe(1);
      jest.advanceTimersByTime(1_000);
      expect(await patient).toBe(false);
      expect(slots.busy).toEqual({ active: 1, waiting: 0 });
    } finally {
      jest.useRealTimers();
    }
  });
});
