export const AGGREGATE_STORE = Symbol('AGGREGATE_STORE');
