// Two projects: unit tests beside the code, e2e suites against real Kafka and Redis.
const swc = [
  '@swc/jest',
  {
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
  },
];
const shared = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@lastmeter/([^/]+)$': '<rootDir>/libs/$1/src' },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120_000,
  // Two suites at a time on any machine (jest's default is one per core but one, so one
  // on our two cores): e2e suites mostly wait on Kafka and on processes. Suites marked
  // `@exclusive` run alone (test/setup/e2e-environment.ts).
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/setup/sequencer.js',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,test,bench,chaos,tools}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testEnvironment: '<rootDir>/test/setup/e2e-environment.ts',
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup/after-env.ts'],
      slowTestThreshold: 30,
    },
  ],
};
