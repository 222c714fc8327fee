import { killAllApps } from '../support/apps';

// Whatever a suite forgot or could not stop (a failed beforeAll), no app outlives it.
afterAll(() => killAllApps());
