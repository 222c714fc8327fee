import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Where media bytes and their records are kept: the small part of S3 the media library
 * needs, so that a directory (the default) and an S3 bucket serve the same code.
 */
export interface ObjectStore {
  readonly kind: string;
  /** Writes the whole object; an existing one is replaced (callers write content-addressed keys). */
  put(key: string, bytes: Buffer, contentType?: string): Promise<void>;
  /** The object as a stream, or undefined when there is none. */
  open(key: string): Promise<{ stream: Readable; size: number } | undefined>;
  /** The whole object (records: a few hundred bytes), or undefined. */
  read(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
  /** Removes the object; no error when it is already gone. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` (a folder: ends with '/'). */
  list(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }>;
}

/**
 * Keys are slash-separated segments of letters, digits, '-', '_' and '.', none starting
 * with a dot: no '..', no absolute path, nothing a client could steer outside the store.
 */
const KEY = /^[a-z]+(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){1,3}$/;

export class InvalidObjectKey extends Error {
  constructor(key: string) {
    super(`invalid media object key: ${JSON.stringify(key.slice(0, 80))}`);
  }
}

export function checkObjectKey(key: string): string {
  if (!KEY.test(key)) throw new InvalidObjectKey(key);
  return key;
}

/**
 * Objects as files under one directory (default `.lastmeter/media`). Writes go to a
 * temporary file first and are renamed into place, so a reader never sees half an object
 * and a crash leaves at most a stray file in `tmp/`.
 */
export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs';
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, bytes: Buffer, _contentType?: string): Promise<void> {
    const path = this.path(key);
    const tmp = join(this.root, 'tmp', `${randomUUID()}.part`);
    await mkdir(dirname(tmp), { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  }

  async open(key: string): Promise<{ stream: Readable; size: number } | undefined> {
    const path = this.path(key);
    const info = await stat(path).catch(ifMissing(undefined));
    if (!info?.isFile()) return undefined;
    return { stream: createReadStream(path), size: info.size };
  }

  async read(key: string): Promise<Buffer | undefined> {
    return await readFile(this.path(key)).catch(ifMissing(undefined));
  }

  async exists(key: string): Promise<boolean> {
    return (await stat(this.path(key)).catch(ifMissing(undefined)))?.isFile() ?? false;
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const start = join(this.root, ...folder.split('/').filter(Boolean));
    for (const entry of await readdir(start, { recursive: true, withFileTypes: true }).catch(ifMissing([]))) {
      if (!entry.isFile()) continue;
      const key = relative(this.root, join(entry.parentPath, entry.name)).split(sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const info = await stat(join(entry.parentPath, entry.name)).catch(ifMissing(undefined));
      if (info) yield { key, size: info.size, modifiedAt: info.mtime };
    }
  }

  private path(key: string): string {
    const path = resolve(this.root, ...checkObjectKey(key).split('/'));
    // The key check already rules it out; a second line of defence costs nothing.
    if (!path.startsWith(this.root + sep)) throw new InvalidObjectKey(key);
    return path;
  }
}

function ifMissing<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}
