// Drives jira.js (the maintained JavaScript client of Jira Service Management) against a running
// Frontdesk. Every response goes through the library's zod schemas with `onSchemaMismatch: 'throw'`, so a
// field of the wrong type or shape fails the run instead of being logged.
//
// Environment: FRONTDESK_URL, FRONTDESK_API_KEY (an admin key), FRONTDESK_TICKET (a request key such as
// FD-1), FRONTDESK_AUTH ("basic": e-mail and API token as on Jira Cloud; "bearer": a personal access
// token as on Data Center), FRONTDESK_CUSTOMER_EMAIL and FRONTDESK_CUSTOMER_TOKEN (the ticket's
// requester and its access token: a customer calling with its own credentials).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'jira.js/core';
import { createCloudClient, createServiceDeskClient } from 'jira.js';

const host = process.env.FRONTDESK_URL;
const key = process.env.FRONTDESK_API_KEY;
const ticket = process.env.FRONTDESK_TICKET;
const customerEmail = process.env.FRONTDESK_CUSTOMER_EMAIL;
const customerToken = process.env.FRONTDESK_CUSTOMER_TOKEN;
const authFor = (email, secret) =>
  process.env.FRONTDESK_AUTH === 'bearer'
    ? { type: 'bearer', token: secret }
    : { type: 'basic', email, apiToken: secret };
const auth = authFor('admin@example.com', key);

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

const status = code => error => error.status === code || error.statusCode === code || String(error).includes(String(code));

// Organizations.
const org = await sd.organization.createOrganization({ name: `Analytical Engines ${tag}` });
assert.equal(org.name, `Analytical Engines ${tag}`);
assert.ok(org.id && org.created.epochMillis && org._links.self);
ok('organization.createOrganization');
const orgId = Number(org.id);

const orgs = await sd.organization.getOrganizations();
assert.ok(orgs.values.some(o => o.id === org.id));
ok('organization.getOrganizations');
const deskOrgs = await sd.organization.getServiceDeskOrganizations({ serviceDeskId: desk.id, start: 0, limit: 10 });
assert.ok(deskOrgs.values.some(o => o.id === org.id));
ok('organization.getServiceDeskOrganizations');
const sameOrg = await sd.organization.getOrganization({ organizationId: orgId });
assert.equal(sameOrg.name, org.name);
ok('organization.getOrganization');

await sd.organization.addUsersToOrganization({ organizationId: orgId, body: { accountIds: [ada.accountId] } });
ok('organization.addUsersToOrganization({accountIds})');
await sd.organization.addUsersToOrganization({
  organizationId: orgId,
  body: { usernames: [grace.accountId], organizationId: orgId },
});
ok('organization.addUsersToOrganization({usernames, organizationId})');
const members = await sd.organization.getUsersInOrganization({ organizationId: orgId });
assert.deepEqual(new Set(members.values.map(u => u.accountId)), new Set([ada.accountId, grace.accountId]));
ok('organization.getUsersInOrganization');
const oneMember = await sd.organization.getUsersInOrganization({ organizationId: orgId, start: 0, limit: 1 });
assert.equal(oneMember.size, 1);
assert.equal(oneMember.isLastPage, false);
ok('organization.getUsersInOrganization({start, limit})');
await sd.organization.removeUsersFromOrganization({
  organizationId: orgId,
  body: { accountIds: [ada.accountId, grace.accountId] },
});
assert.equal((await sd.organization.getUsersInOrganization({ organizationId: orgId })).values.length, 0);
ok('organization.removeUsersFromOrganization');

await sd.organization.addOrganization({ serviceDeskId: desk.id, body: { organizationId: orgId } });
ok('organization.addOrganization');
await sd.organization.removeOrganization({ serviceDeskId: desk.id, body: { organizationId: orgId, serviceDeskId: desk.id } });
ok('organization.removeOrganization');
await sd.organization.deleteOrganization({ organizationId: orgId });
await assert.rejects(sd.organization.getOrganization({ organizationId: orgId }), status(404));
ok('organization.deleteOrganization');

// Request comments.
const reply = await sd.request.createRequestComment({ issueIdOrKey: ticket, body: 'We are looking into it.', public: true });
assert.equal(reply.public, true);
assert.equal(reply.body, 'We are looking into it.');
assert.ok(reply.id && reply.author.displayName && reply.created.iso8601 && reply._links.self);
ok('request.createRequestComment({public: true})');
const note = await sd.request.createRequestComment({ issueIdOrKey: ticket, body: 'The disk is failing.', public: false });
assert.equal(note.public, false);
ok('request.createRequestComment({public: false})');

const all = await sd.request.getRequestComments({ issueIdOrKey: ticket });
assert.deepEqual(all.values.map(c => c.id), [reply.id, note.id]);
assert.equal(all.isLastPage, true);
ok('request.getRequestComments');
const internalOnly = await sd.request.getRequestComments({ issueIdOrKey: ticket, public: false, internal: true });
assert.deepEqual(internalOnly.values.map(c => c.id), [note.id]);
ok('request.getRequestComments({public, internal})');
const firstComment = await sd.request.getRequestComments({ issueIdOrKey: ticket, start: 0, limit: 1 });
assert.equal(firstComment.isLastPage, false);
assert.ok(firstComment._links.next);
ok('request.getRequestComments({start, limit})');
const rendered = await sd.request.getRequestComments({ issueIdOrKey: ticket, expand: ['renderedBody'] });
assert.equal(rendered.values[0].renderedBody.html, '<p>We are looking into it.</p>');
ok('request.getRequestComments({expand: [renderedBody]})');

const byId = await sd.request.getRequestCommentById({ issueIdOrKey: ticket, commentId: Number(note.id) });
assert.deepEqual(byId, note);
ok('request.getRequestCommentById');
await assert.rejects(sd.request.getRequestCommentById({ issueIdOrKey: ticket, commentId: 1 }), status(404));
await assert.rejects(sd.request.createRequestComment({ issueIdOrKey: ticket, body: '', public: true }), status(400));
ok('request comment errors (unknown id, empty body)');

// The requester with its own credentials: public comments only.
const customer = createServiceDeskClient(
  createClient({ host, auth: authFor(customerEmail, customerToken), onSchemaMismatch: 'throw' }),
);
const customerReply = await customer.request.createRequestComment({ issueIdOrKey: ticket, body: 'Thanks!', public: true });
assert.equal(customerReply.author.emailAddress, customerEmail);
ok('request.createRequestComment as the customer');
await assert.rejects(
  customer.request.createRequestComment({ issueIdOrKey: ticket, body: 'psst', public: false }),
  status(403),
);
ok('request.createRequestComment({public: false}) as the customer is 403');
const seen = await customer.request.getRequestComments({ issueIdOrKey: ticket });
assert.deepEqual(seen.values.map(c => c.id), [reply.id, customerReply.id]);
ok('request.getRequestComments as the customer (public only)');

console.log('jira.js: all calls passed');
