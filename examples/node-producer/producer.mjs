#!/usr/bin/env node
// A plant reports material it received to the ASI chain-of-custody platform, then reads the
// platform's answer for that event: the movement intake recorded (material.movements.v1) or the
// refusal with its reasons (intake.rejections.v1). See README.md.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const PLANT_EVENTS = 'plant.events.v1';
const MOVEMENTS = 'material.movements.v1';
const REJECTIONS = 'intake.rejections.v1';
const SCHEMA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'schemas', `${PLANT_EVENTS}.json`);

const { values: args } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: process.env.KAFKA_BOOTSTRAP_SERVERS ?? 'localhost:9092' },
    organisation: { type: 'string' },
    site: { type: 'string' },
    supplier: { type: 'string', default: 'org-unknown-trader' },
    category: { type: 'string', default: 'aluminium' },
    form: { type: 'string', default: 'ingot' },
    quantity: { type: 'string', default: '22.5' },
    unit: { type: 'string', default: 't' },
    'received-on': { type: 'string', default: new Date().toISOString().slice(0, 10) },
    timeout: { type: 'string', default: '60' },
  },
});
if (!args.organisation || !args.site) {
  console.error('usage: node producer.mjs --organisation ORG --site SITE [--bootstrap HOST:PORT] [--quantity 22.5 --unit t]');
  process.exit(64);
}

// 1. The event, field by field as contracts/schemas/plant.events.v1.json describes a material_received.
//    Quantities are decimal strings (never JSON numbers); times are UTC with a zone.
const event = {
  type: 'material_received',
  event_id: randomUUID(), // the idempotency key: send the same id again and nothing is counted twice
  schema_version: 1,
  occurred_at: new Date().toISOString(),
  correlation_id: randomUUID(),
  actor: { organisation_id: args.organisation, role: 'producer' },
  site_id: args.site,
  received_on: args['received-on'],
  supplier_organisation_id: args.supplier,
  material_category: args.category,
  product_form: args.form,
  quantity: args.quantity,
  unit: args.unit,
  // Bought without a CoC Document: intake records it as non-CoC material, after due diligence.
  due_diligence_status: 'passed',
  due_diligence_reference: `dd-${args.supplier}`,
};

// 2. Check it against the published schema before sending: a refusal costs a round trip.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
if (!validate(event)) {
  console.error('the event does not match the published schema:', JSON.stringify(validate.errors, null, 2));
  process.exit(65);
}

const kafka = new Kafka({ clientId: 'asi-node-producer', brokers: args.bootstrap.split(','), logLevel: logLevel.WARN });

// 3. Note where the answer topics end now, so the answer is read from there (not the whole topic).
const admin = kafka.admin();
await admin.connect();
const startAt = {};
for (const topic of [MOVEMENTS, REJECTIONS]) {
  startAt[topic] = await admin.fetchTopicOffsets(topic);
}
await admin.disconnect();

let settle;
const answered = new Promise((resolve) => { settle = resolve; });
const consumer = kafka.consumer({ groupId: `asi-node-producer-${event.event_id}` });
await consumer.connect();
await consumer.subscribe({ topics: [MOVEMENTS, REJECTIONS] });
await consumer.run({
  eachMessage: async ({ topic, message }) => {
    const answer = JSON.parse(message.value.toString());
    if (topic === MOVEMENTS && answer.movement_id === event.event_id) {
      settle({ outcome: 'accepted', event_id: event.event_id, movement: answer });
    } else if (answer.type === 'plant_event_rejected' && answer.rejected_event_id === event.event_id) {
      settle({ outcome: 'rejected', event_id: event.event_id, reasons: answer.reasons, message: answer.message });
    } else if (answer.type === 'plant_event_held' && answer.held_event_id === event.event_id) {
      console.log(`held until ${answer.retry_until}, waiting for: ${answer.waiting_for.map((r) => r.code).join(', ')}`);
    }
  },
});
for (const [topic, partitions] of Object.entries(startAt)) {
  for (const { partition, offset } of partitions) consumer.seek({ topic, partition, offset });
}

// 4. Send it, keyed by site id (the topic's partition key: a site's events stay in order).
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await producer.send({ topic: PLANT_EVENTS, acks: -1, messages: [{ key: event.site_id, value: JSON.stringify(event) }] });
await producer.disconnect();
console.log(`sent ${event.type} ${event.event_id} for ${event.site_id}: ${event.quantity} ${event.unit} of ${event.material_category}`);

// 5. Wait for the platform's answer.
let timer;
const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), Number(args.timeout) * 1000); });
const answer = await Promise.race([answered, timeout]);
clearTimeout(timer); // a pending timer keeps Node running: without this, every answer took the full timeout
await consumer.disconnect();
if (answer === null) {
  console.log(`no answer for ${event.event_id} within ${args.timeout} s`);
  process.exit(2);
}
if (answer.outcome === 'accepted') {
  const m = answer.movement;
  console.log(`accepted: movement ${m.type}, ${m.quantity_kg} kg, classified ${m.classification}`);
} else {
  console.log(`rejected: ${answer.message}`);
  for (const r of answer.reasons) console.log(`  ${r.code}${r.field ? ` (${r.field})` : ''}: ${r.message}`);
}
console.log(`ANSWER ${JSON.stringify(answer)}`);
