import { storeActivityEvent, storeActivityJson } from './store-activity';

const id = '0b9e8a52-4f6c-5c1e-9d3a-2f1b7c6d5e4a';
const actor = { id: 'terminal "1"', role: 'terminal' as const, storeId: 'store-1' };
const receipt = { storeId: 'store-1', terminalId: 'terminal "1"', communicationId: 'c-1', revision: 3 };
const at = '2026-11-30T15:02:31.900Z';

describe('storeActivityJson', () => {
  it.each([
    ['receipt.delivered', receipt],
    ['receipt.read', receipt],
    ['receipt.acknowledged', receipt],
    ['task.completed', { ...receipt, note: 'done\n"ok"', photoUrl: undefined }],
    ['quiz.answered', { ...receipt, answers: [1, 0, 2], score: 0.5 }],
    ['report.filed', { storeId: 's', reportId: 'r', title: 't\u2028', body: 'b\\', authorId: 'a' }],
    ['terminal.connected', { storeId: 's', terminalId: 't', gatewayId: 'g' }],
    ['terminal.disconnected', { storeId: 's', terminalId: 't', gatewayId: 'g', reason: 'gone' }],
  ] as const)('is JSON.stringify of the %s event, character for character', (type, data) => {
    const json = storeActivityJson(type, id, actor, data as never, at);
    expect(json).toBe(JSON.stringify(storeActivityEvent(type, id, actor, data as never, at)));
    expect(JSON.parse(json)).toEqual(
      JSON.parse(JSON.stringify(storeActivityEvent(type, id, actor, data as never, at))),
    );
  });
});
