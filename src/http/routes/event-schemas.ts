/** The schemas of `POST /events` and `GET /events` (the handlers are in events.ts). */
import { ref } from '../../protocol/components.js';
import { EventsPage, PushResponse } from '../../protocol/wire.js';
import { IN_BUDGET, WITH_BODY, errors } from '../responses.js';
import { EventsQuery, PushBody } from '../schemas.js';

const tags = ['events'];

export const pushSchema = {
  tags,
  operationId: 'pushEvents',
  summary: 'Push 1–25 events; one result per event, in order',
  description: 'Only a malformed batch is a 400; a bad event is a `rejected` result and the others go on (docs/protocol.md).',
  body: PushBody,
  response: { 200: ref(PushResponse), ...errors(...WITH_BODY) },
};

export const streamSchema = {
  tags,
  operationId: 'getEvents',
  summary: "A page of a budget's stream after `key`; waits up to `wait` seconds for one",
  description: 'Answers as soon as an event after `key` commits on any instance, or with no events when `wait` runs out.',
  querystring: EventsQuery,
  response: { 200: ref(EventsPage), ...errors(...IN_BUDGET) },
};
