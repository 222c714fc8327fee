import { readFileSync } from 'node:fs';
import { generateContractSchemas, renderSchemasModule, SCHEMAS_FILE } from './contract-schemas';

describe('the generated contract schemas', () => {
  it('are what the types of libs/contracts give today (else: npm run contracts:schemas)', () => {
    const committed = readFileSync(SCHEMAS_FILE, 'utf8');
    expect(committed).toBe(renderSchemasModule(generateContractSchemas()));
  });

  it('name every HTTP answer and the error body', () => {
    const schemas = generateContractSchemas();
    for (const name of [
      'CommandResult',
      'CommandPending',
      'FeedAnswer',
      'ReachAnswer',
      'ApiErrorBody',
      'LoginResult',
    ]) {
      expect(schemas[name]).toBeDefined();
    }
    // Component names are what OpenAPI and AsyncAPI allow.
    expect(Object.keys(schemas).filter((name) => !/^[A-Za-z0-9._-]+$/.test(name))).toEqual([]);
  });
});
