// Two devices of two users sharing a budget, with the published client package in plain Node.
//
//   npm start                                   # the server, in another terminal
//   ALICE_TOKEN=$(npm run -s token -- alice) BOB_TOKEN=$(npm run -s token -- bob) \
//     node examples/node/two-devices.mjs        # BASE_URL defaults to http://127.0.0.1:3000
//
// Alice's device holds a socket (the `ws` package, through the package's Node entry); Bob's uses
// long-poll. Bob's expense reaches Alice's device live. Prints one JSON line of what happened.
import { SyncClient } from '@budget-sync/client';

const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const tokenOf = (name) => {
  const token = process.env[name];
  if (!token) throw new Error(`${name} is not set (npm run -s token -- <uid>)`);
  return token;
};

const alice = new SyncClient({ baseUrl, getToken: () => tokenOf('ALICE_TOKEN') });
const bob = new SyncClient({ baseUrl, getToken: () => tokenOf('BOB_TOKEN'), transport: 'longpoll' });
await alice.start();
await bob.start();

const { budgetId } = await alice.createBudget({ title: 'Trip' });
const food = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '300' });
await alice.flush();
const { token } = await alice.createInvite(budgetId);
await bob.join(token);

const seenByAlice = new Promise((resolve) => {
  alice.on('change', async () => {
    const expenses = await alice.expenses(budgetId);
    if (expenses.length > 0) resolve(expenses);
  });
});
await bob.expenseAdd(budgetId, { categoryId: food.recordId, date: '2025-05-06', amount: '12.5', note: 'lunch' });
await bob.flush();
const expenses = await seenByAlice;

console.log(
  JSON.stringify({
    budgetId,
    aliceTransport: 'socket',
    aliceSees: expenses.map((e) => ({ amount: e.amount, note: e.note, createdBy: e.createdBy })),
    bobSees: (await bob.categories(budgetId)).map((c) => c.name),
    pending: (await alice.pending()).length + (await bob.pending()).length,
  }),
);
await alice.stop();
await bob.stop();
