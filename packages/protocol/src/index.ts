/**
 * The wire contract of budget-sync, as TypeScript: records, events, push results, the socket's
 * messages in both directions, close codes and error codes. No dependencies and no Node built-ins,
 * so servers, browsers and React Native apps can all import it.
 */
export * from './errors.js';
export * from './events.js';
export * from './records.js';
export * from './socket.js';
export * from './values.js';
