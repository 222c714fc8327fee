/** The app's kafkajs client (producers, consumers, admin). */
export const KAFKA = Symbol('KAFKA');
/** This deployment's concrete topic names (prefix applied). */
export const TOPIC_NAMES = Symbol('TOPIC_NAMES');
