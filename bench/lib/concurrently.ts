/**
 * Calls `task(i)` for i = 0 … count − 1 with at most `concurrency` calls in flight, each
 * worker taking the next index as soon as its call settles; resolves when all have, or
 * rejects with the first failure (the other workers finish the call they are in).
 */
export async function forEachConcurrently(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await task(i);
    }),
  );
}
