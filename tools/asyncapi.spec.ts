import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CONNECT_REFUSALS, CONSOLE_REFUSALS, EVENT_TYPES, TOPICS } from '@lastmeter/contracts';
import { ASYNCAPI_FILE, buildAsyncApi, renderAsyncApi } from './asyncapi';

type Json = Record<string, unknown>;
const get = (node: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((at, key) => (at as Json | undefined)?.[key], node);

/** The node a local `$ref` points at, or undefined. */
function resolve(document: Json, pointer: string): unknown {
  return pointer
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], document);
}

function refsOf(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => refsOf(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsOf(value, found);
    }
  }
  return found;
}

describe('docs/asyncapi.yaml', () => {
  it('is what tools/asyncapi.ts generates today (else: npm run asyncapi)', () => {
    expect(readFileSync(ASYNCAPI_FILE, 'utf8')).toBe(renderAsyncApi());
  });

  it('reads back as the document, and every $ref resolves inside it', () => {
    const document = buildAsyncApi();
    expect(parse(readFileSync(ASYNCAPI_FILE, 'utf8'))).toEqual(document);
    const dangling = refsOf(document).filter((pointer) => resolve(document, pointer) === undefined);
    expect(dangling).toEqual([]);
  });

  it('has a channel per namespace and per topic, a message per event type, and every refusal reason', () => {
    const document = buildAsyncApi();
    const addresses = Object.values(document.channels as Json).map((channel) => get(channel, 'address'));
    expect(addresses).toEqual(
      expect.arrayContaining(['/terminal', '/console', ...Object.values(TOPICS).map((t) => `{prefix}${t.name}`)]),
    );
    const names = Object.values(get(document, 'components', 'messages') as Json).map((message) => get(message, 'name'));
    expect(EVENT_TYPES.filter((type) => !names.includes(type))).toEqual([]);
    expect(get(document, 'components', 'schemas', 'ConnectRefusal', 'enum')).toEqual([...CONNECT_REFUSALS]);
    expect(get(document, 'components', 'schemas', 'ConsoleRefusal', 'enum')).toEqual([...CONSOLE_REFUSALS]);
  });
});
