import fixture from '../../../contracts/fixtures/communication.drafted.v1.json';
import { parseEnvelope, upcast } from '@lastmeter/contracts';
import { communicationDecider } from './communication.decider';

/** A schemaVersion 1 event from the log still replays into today's state. */
it('folds a v1 communication.drafted (through the upcaster) into a drafted communication', () => {
  const event = upcast(parseEnvelope(JSON.stringify(fixture)));
  const state = communicationDecider.evolve(communicationDecider.initialState(fixture.aggregateId), event);
  expect(state).toMatchObject({
    exists: true,
    status: 'drafted',
    revision: 1,
    author: { id: 'editor-anna', role: 'hq-editor' },
    content: {
      kind: 'notice',
      title: 'Autumn price labels',
      body: 'Replace the shelf labels in aisle 3 before opening.',
      priority: 'normal',
      audience: { regionIds: ['7c9e6679-7425-40de-944b-e07fc1f90ae7'] },
    },
  });
});
