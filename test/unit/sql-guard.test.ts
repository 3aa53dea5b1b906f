import t from 'tap';
import { isPorsagerClosedSocketWrite } from '../../src/db/sql.js';

t.test("only porsager's write-after-close TypeError is swallowed", async (t) => {
  const crash = new TypeError("Cannot read properties of null (reading 'write')");
  crash.stack = `${crash.message}\n    at Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:26)`;
  t.ok(isPorsagerClosedSocketWrite(crash), 'the convergence-suite crash');
  const other = new TypeError("Cannot read properties of null (reading 'write')");
  other.stack = `${other.message}\n    at somewhere (file:///app/src/realtime/connection.ts:1:1)`;
  t.notOk(isPorsagerClosedSocketWrite(other), 'the same message elsewhere is a real bug');
  t.notOk(isPorsagerClosedSocketWrite(new Error('boom')));
});
