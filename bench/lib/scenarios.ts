/** Every scenario, in the order the runner runs them and the report lists them. */
export const SCENARIOS = [
  'kafka-floor',
  'fanout-floor',
  'end-to-end',
  'memory',
  'sustained',
  'command-throughput',
  'projection',
  'replay',
  'reconnect-storm',
  'limits-cost',
  'import',
  'receipt-ingest',
  'revocation',
  'scale',
  'command-startup',
  'console',
];
