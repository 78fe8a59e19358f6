// Drives jira.js (the maintained JavaScript client of Jira Service Management) against a running
// Frontdesk. Every response goes through the library's zod schemas with `onSchemaMismatch: 'throw'`, so a
// field of the wrong type or shape fails the run instead of being logged.
//
// Environment: FRONTDESK_URL, FRONTDESK_API_KEY (an admin key), FRONTDESK_TICKET (a request key such as
// FD-1), FRONTDESK_AUTH ("basic": e-mail and API token as on Jira Cloud; "bearer": a personal access
// token as on Data Center).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'jira.js/core';
import { createCloudClient, createServiceDeskClient } from 'jira.js';

const host = process.env.FRONTDESK_URL;
const key = process.env.FRONTDESK_API_KEY;
const ticket = process.env.FRONTDESK_TICKET;
const auth =
  process.env.FRONTDESK_AUTH === 'bearer'
    ? { type: 'bearer', token: key }
    : { type: 'basic', email: 'admin@example.com', apiToken: key };

const client = createClient({ host, auth, onSchemaMismatch: 'throw' });
const sd = createServiceDeskClient(client);
const jira = createCloudClient(client);
const ok = call => console.log(`ok: ${call}`);

const server = await jira.serverInfo.getServerInfo();
assert.equal(server.deploymentType, 'Cloud');
assert.deepEqual(server.versionNumbers.slice(0, 1), [1001]);
ok('serverInfo.getServerInfo');

const info = await sd.info.getInfo();
assert.equal(info.isLicensedForUse, true);
ok('info.getInfo');

const desks = await sd.servicedesk.getServiceDesks();
assert.equal(desks.values.length, 1);
assert.equal(desks.isLastPage, true);
const desk = desks.values[0];
assert.ok(desk.id && desk.projectKey && desk.projectName);
ok('servicedesk.getServiceDesks');

const paged = await sd.servicedesk.getServiceDesks({ start: 0, limit: 1 });
assert.equal(paged.values[0].id, desk.id);
ok('servicedesk.getServiceDesks({start, limit})');

const same = await sd.servicedesk.getServiceDeskById({ serviceDeskId: desk.id });
assert.equal(same.projectName, desk.projectName);
ok('servicedesk.getServiceDeskById');

const tag = randomUUID().slice(0, 8);
const ada = await sd.customer.createCustomer({ displayName: 'Ada Lovelace', email: `ada-${tag}@example.com` });
assert.equal(ada.displayName, 'Ada Lovelace');
assert.equal(ada.emailAddress, `ada-${tag}@example.com`);
assert.equal(ada.active, true);
assert.ok(ada.accountId && ada._links.self && ada._links.avatarUrls['48x48']);
ok('customer.createCustomer({displayName, email})');

// `fullName` is the older name of `displayName`; the library still offers it.
const grace = await sd.customer.createCustomer({ fullName: 'Grace Hopper', email: `grace-${tag}@example.com` });
assert.equal(grace.displayName, 'Grace Hopper');
ok('customer.createCustomer({fullName, email})');

await assert.rejects(
  sd.customer.createCustomer({
    displayName: 'Ada again',
    email: `ada-${tag}@example.com`,
    strictConflictStatusCode: true,
  }),
  error => error.status === 409 || error.statusCode === 409 || /409/.test(String(error)),
);
ok('customer.createCustomer({strictConflictStatusCode}) on a taken e-mail is 409');

await sd.servicedesk.addCustomers({ serviceDeskId: desk.id, accountIds: [ada.accountId, grace.accountId] });
ok('servicedesk.addCustomers({accountIds})');
await sd.servicedesk.addCustomers({ serviceDeskId: desk.id, usernames: [ada.accountId] });
ok('servicedesk.addCustomers({usernames})');

const added = await sd.request.addRequestParticipants({ issueIdOrKey: ticket, accountIds: [ada.accountId] });
assert.ok(added.values.some(p => p.accountId === ada.accountId));
ok('request.addRequestParticipants({accountIds})');

const both = await sd.request.addRequestParticipants({ issueIdOrKey: ticket, usernames: [grace.accountId] });
assert.ok(both.values.some(p => p.accountId === grace.accountId));
ok('request.addRequestParticipants({usernames})');

const listed = await sd.request.getRequestParticipants({ issueIdOrKey: ticket });
const mine = listed.values.filter(p => [ada.accountId, grace.accountId].includes(p.accountId));
assert.equal(mine.length, 2);
assert.ok(mine.every(p => p.emailAddress && p.displayName && p.timeZone));
ok('request.getRequestParticipants');

const first = await sd.request.getRequestParticipants({ issueIdOrKey: ticket, start: 0, limit: 1 });
assert.equal(first.size, 1);
assert.equal(first.isLastPage, false);
ok('request.getRequestParticipants({start, limit})');

const left = await sd.request.removeRequestParticipants({ issueIdOrKey: ticket, accountIds: [ada.accountId] });
assert.ok(!left.values.some(p => p.accountId === ada.accountId));
ok('request.removeRequestParticipants({accountIds})');

const none = await sd.request.removeRequestParticipants({ issueIdOrKey: ticket, usernames: [grace.accountId] });
assert.ok(!none.values.some(p => p.accountId === grace.accountId));
ok('request.removeRequestParticipants({usernames})');

console.log('jira.js: all calls passed');
