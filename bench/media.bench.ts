/**
 * Media uploads (issue 19): PHOTOS phone photos from TERMINALS store terminals at once,
 * each terminal sending its photos one after another (`POST /v1/media`, multipart, its
 * device token), through one gateway: the sniffing, the full decode, the re-encode
 * without EXIF and the thumbnail. Per photo, "thumbnail latency" is upload start →
 * thumbnail fetched (the upload answers once the thumbnail exists; the GET is the card's
 * first look). Baseline, same run and same client concurrency: a bare HTTP server that
 * takes a PUT of the same bytes and writes them, content-addressed, to the same kind of
 * store (FsObjectStore): what moving the bytes costs without looking at them.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobKey, FsObjectStore } from '@lastmeter/media';
import { testPhoto } from '../libs/media/src/test-photo';
import { forEachConcurrently } from './lib/concurrently';
import { sized, summary, thin, writeScenario } from './lib/results';
import { startStack } from './lib/stack';
import { benchInfra, runMain } from './support';

const PHOTOS = sized({ full: 1_000, quick: 200, tiny: 10 });
const TERMINALS = sized({ full: 100, quick: 50, tiny: 5 });
/** Distinct photos generated (then cycled): 2 MP of noise, as large as a camera's JPEG of that size. */
const DISTINCT = sized({ full: 50, quick: 20, tiny: 5 });
const WIDTH = 1600;
const HEIGHT = 1200;

interface Outcome {
  latencies: number[];
  seconds: number;
  refusals: number;
}

async function main(): Promise<void> {
  console.error(`media: generating ${DISTINCT} photos of ${WIDTH}×${HEIGHT} (not measured)…`);
  const photos: Buffer[] = [];
  for (let i = 0; i < DISTINCT; i++) photos.push(await testPhoto(WIDTH, HEIGHT, `Phone ${i}`, { noise: true }));
  const bytesPerPhoto = photos.reduce((sum, p) => sum + p.length, 0) / photos.length;
  const dir = mkdtempSync(join(tmpdir(), 'lastmeter-bench-media-'));
  const infra = await benchInfra();
  const stack = await startStack(infra, ['gateway'], { MEDIA_DIR: join(dir, 'gateway') });
  const bare = await bareStore(join(dir, 'bare'));
  try {
    const tokens = Array.from({ length: TERMINALS }, (_, t) =>
      stack.token('terminal', {
        sub: `bench-terminal-${t}`,
        storeId: `00000000-0000-4000-8000-${String(t).padStart(12, '0')}`,
      }),
    );
    console.error(`media: bare PUT of ${PHOTOS} photos from ${TERMINALS} clients`);
    const baseline = await run(async (i) => {
      const response = await fetch(`${bare.url}/put`, { method: 'PUT', body: photos[i % DISTINCT] });
      if (response.status !== 201) throw new Error(`bare PUT: ${response.status}`);
      await response.arrayBuffer();
      return true;
    });
    console.error(`media: POST /v1/media of ${PHOTOS} photos from ${TERMINALS} terminals`);
    const ours = await run(async (i, terminal) => {
      const form = new FormData();
      form.append('file', new Blob([photos[i % DISTINCT]!], { type: 'image/jpeg' }), `IMG_${i}.JPG`);
      const headers = { authorization: `Bearer ${tokens[terminal]}` };
      const response = await fetch(`${stack.urls.gateway}/v1/media`, { method: 'POST', headers, body: form });
      if (response.status === 503) {
        // The gateway receives MEDIA_UPLOADS_MAX at once; a tablet comes back after Retry-After.
        await response.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 1000));
        return false;
      }
      if (response.status !== 201) throw new Error(`POST /v1/media: ${response.status} ${await response.text()}`);
      const { mediaId } = (await response.json()) as { mediaId: string };
      const thumbnail = await fetch(`${stack.urls.gateway}/v1/media/${mediaId}?variant=thumbnail`, { headers });
      if (thumbnail.status !== 200) throw new Error(`thumbnail: ${thumbnail.status}`);
      await thumbnail.arrayBuffer();
      return true;
    });
    const ourLatency = summary(ours.latencies);
    const bareLatency = summary(baseline.latencies);
    const rate = (outcome: Outcome) => Math.round((PHOTOS / outcome.seconds) * 10) / 10;
    writeScenario({
      scenario: 'media',
      title: `Media: ${PHOTOS} photos (${WIDTH}×${HEIGHT}, ~${Math.round(bytesPerPhoto / 1024)} KiB) from ${TERMINALS} terminals to one gateway`,
      parameters: {
        photos: PHOTOS,
        terminals: TERMINALS,
        distinctPhotos: DISTINCT,
        width: WIDTH,
        height: HEIGHT,
        bytesPerPhoto: Math.round(bytesPerPhoto),
        uploadsAtOnce: 4,
        refusedBusy: ours.refusals,
      },
      metrics: [
        {
          name: 'photos uploaded per second',
          unit: 'photos/s',
          value: rate(ours),
          baseline: rate(baseline),
          baselineName: 'bare PUT to the same store',
          lowerIsBetter: false,
        },
        {
          name: 'upload → thumbnail, p50',
          unit: 'ms',
          value: ourLatency.p50,
          baseline: bareLatency.p50,
          baselineName: 'bare PUT, p50',
          lowerIsBetter: true,
        },
        {
          name: 'upload → thumbnail, p99',
          unit: 'ms',
          value: ourLatency.p99,
          baseline: bareLatency.p99,
          baselineName: 'bare PUT, p99',
          lowerIsBetter: true,
        },
        {
          name: 'uploads answered 503 (busy) and sent again',
          unit: 'uploads',
          value: ours.refusals,
          lowerIsBetter: true,
        },
      ],
      samples: { 'upload → thumbnail': thin(ours.latencies), 'bare PUT': thin(baseline.latencies) },
      notes: [
        `Each of the ${TERMINALS} terminals sends its photos one after another; ${DISTINCT} distinct photos are cycled (each upload is decoded and re-encoded all the same; identical results are stored once).`,
        'The gateway receives MEDIA_UPLOADS_MAX (4) uploads at once and answers 503 with Retry-After to more: those are sent again after it, and their latency counts from the first try.',
        'The bare server reads the body and writes it under its sha256 with the same FsObjectStore, nothing else; Kafka and Redis are idle in both arms (no event is written for an upload).',
      ],
    });
  } finally {
    bare.server.close();
    await stack.stop();
    await infra.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  /** PHOTOS uploads by TERMINALS clients, each sending its share one by one; a `false` try is sent again. */
  async function run(send: (i: number, terminal: number) => Promise<boolean>): Promise<Outcome> {
    const latencies: number[] = [];
    let refusals = 0;
    const start = performance.now();
    await forEachConcurrently(TERMINALS, TERMINALS, async (terminal) => {
      for (let i = terminal; i < PHOTOS; i += TERMINALS) {
        const begun = performance.now();
        while (!(await send(i, terminal))) refusals++;
        latencies.push(performance.now() - begun);
      }
    });
    return { latencies, seconds: (performance.now() - start) / 1000, refusals };
  }
}

/** The baseline: PUT /put stores the body under its sha256, and answers 201. */
async function bareStore(root: string): Promise<{ server: Server; url: string }> {
  const store = new FsObjectStore(root);
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      store.put(blobKey(sha256), bytes).then(
        () => response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sha256 })),
        (error: Error) => response.writeHead(500).end(error.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

runMain(main);
