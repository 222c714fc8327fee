import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type Redis from 'ioredis';
import { coalesceWrites } from './coalesced-writes';

/** A socket that records what reaches it, one entry per system call (`write` or `writev`). */
class RecordingSocket extends Writable {
  readonly calls: string[][] = [];
  constructor() {
    super({ decodeStrings: false });
  }
  override _write(chunk: unknown, _encoding: BufferEncoding, done: () => void): void {
    this.calls.push([String(chunk)]);
    done();
  }
  override _writev(chunks: Array<{ chunk: unknown }>, done: () => void): void {
    this.calls.push(chunks.map(({ chunk }) => String(chunk)));
    done();
  }
}

/** An ioredis client as coalesceWrites sees it: events, and its current socket. */
function fakeClient() {
  const client = new EventEmitter() as EventEmitter & { stream?: RecordingSocket };
  const connect = () => {
    client.stream = new RecordingSocket();
    client.emit('connect');
    return client.stream;
  };
  coalesceWrites(client as unknown as Redis);
  return { client, connect };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

it("sends one tick's commands in one system call, in the order they were sent", async () => {
  const { connect } = fakeClient();
  const socket = connect();
  socket.write('GET a');
  // Continuations of the same tick (a batch of replies resolving many handshakes) join in.
  await Promise.all([1, 2, 3].map(async (i) => socket.write(`GET b${i}`)));
  socket.write('GET c');
  await tick();
  socket.write('GET d');
  await tick();
  // The first at once, the rest of the tick together.
  expect(socket.calls).toEqual([['GET a'], ['GET b1', 'GET b2', 'GET b3', 'GET c'], ['GET d']]);
});

it('wraps the socket of every connection once, a reconnect included', async () => {
  const { client, connect } = fakeClient();
  const first = connect();
  client.emit('connect'); // the same socket announced again: still one wrapper
  first.write('PING');
  first.write('PING');
  await tick();
  first.write('PING');
  first.write('PING');
  first.write('PING');
  await tick();
  const second = connect();
  second.write('GET x');
  second.write('GET y');
  second.write('GET z');
  await tick();
  expect(first.calls).toEqual([['PING'], ['PING'], ['PING'], ['PING', 'PING']]);
  expect(second.calls).toEqual([['GET x'], ['GET y', 'GET z']]);
});

it('writes a large backlog without waiting for the end of the tick', async () => {
  const { connect } = fakeClient();
  const socket = connect();
  const big = 'x'.repeat(40 * 1024);
  socket.write('GET a');
  socket.write(big);
  socket.write(big); // 80 KiB held: written now
  const beforeTheTickEnds = socket.calls.length;
  socket.write('GET b');
  await tick();
  expect(beforeTheTickEnds).toBe(2);
  expect(socket.calls).toEqual([['GET a'], [big, big], ['GET b']]);
});
